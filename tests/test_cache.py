import tracemalloc

import numpy as np
import pandas as pd
import pytest

from conftest import random_dna
from seqcnn.alphabet import one_hot, reverse_complement_seq
from seqcnn.data import regions as rg
from seqcnn.data.cache import (
    MANIFEST_KEYS,
    ManifestError,
    dinucleotide_shuffle_codes,
    genome_manifest,
    load_cache,
    load_split,
    read_ids,
    region_ids,
    validate_manifest,
    write_cache,
)
from seqcnn.data.fasta import write_fasta
from seqcnn.data.genome import Genome, prepare_fasta


def _regions(rows, tasks=("T",)):
    df = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "strand", *tasks])
    df["source"] = "peak"
    return df


def test_known_sequences_round_trip_exactly(small_genome, tmp_path):
    genome, chroms = small_genome
    df = _regions([("chr1", 10, 30, "a", "+", 1), ("chr1", 4980, 5000, "b", ".", 0),
                   ("chr2", 990, 1010, "c", "-", 1), ("chr3", 490, 510, "d", "+", 0)])
    rg.write_regions(df, tmp_path / "r.bed", ["T"])
    stats = write_cache(genome, rg.read_regions(tmp_path / "r.bed", chunksize=3), 4, ["T"],
                        tmp_path / "x.npy", tmp_path / "y.npy", 20)
    x, y = load_cache(tmp_path / "x.npy", tmp_path / "y.npy")
    assert isinstance(x, np.memmap) and x.dtype == np.uint8 and x.shape == (4, 4, 20)
    expected = [chroms["chr1"][10:30], chroms["chr1"][4980:5000],
                reverse_complement_seq(chroms["chr2"][990:1010]), chroms["chr3"][490:510]]
    for i, seq in enumerate(expected):
        np.testing.assert_array_equal(x[i], one_hot(seq))
    assert x[3, :, :10].sum() == 0 and x[3, :, 10:].sum() == 10  # N → all zeros
    assert x[2].sum() == 20  # lowercase (soft-masked) bases are encoded
    np.testing.assert_array_equal(y[:, 0], [1, 0, 1, 0])
    assert stats.n == 4 and stats.positives == {"T": 2}
    assert len(stats.sha256["onehot"]) == 64


def test_killed_writer_leaves_no_complete_looking_cache(small_genome, tmp_path):
    genome, _ = small_genome
    df = _regions([("chr1", i * 10, i * 10 + 20, f"r{i}", "+", 1) for i in range(10)])
    final = tmp_path / "x.npy"

    def chunks():
        yield df.iloc[:5]
        assert not final.exists() and (tmp_path / "x.npy.tmp").exists()
        raise KeyboardInterrupt  # killed mid-way

    with pytest.raises(KeyboardInterrupt):
        write_cache(genome, chunks(), 10, ["T"], final, tmp_path / "y.npy", 20)
    assert not final.exists() and not (tmp_path / "x.npy.tmp").exists()
    with pytest.raises(RuntimeError, match="wrote 5 of 10 rows"):
        write_cache(genome, [df.iloc[:5]], 10, ["T"], final, tmp_path / "y.npy", 20)
    assert not final.exists()


def test_peak_memory_does_not_grow_with_regions(tmp_path, rng):
    write_fasta(tmp_path / "g.fa", {"c1": random_dna(200_000, rng)})
    prepare_fasta(tmp_path / "g.fa", tmp_path / "p" / "g.fa")
    genome = Genome(tmp_path / "p" / "g.fa")
    peaks = {}
    for n in (5_000, 50_000):  # both well past the writer thread's chunks in flight
        starts = np.sort(rng.integers(0, 200_000 - 200, size=n))
        df = _regions([("c1", s, s + 200, f"r{i}", "+", i % 2) for i, s in enumerate(starts)])
        rg.write_regions(df, tmp_path / f"r{n}.bed", ["T"])
        genome._seq = genome._chrom = None
        tracemalloc.start()
        write_cache(genome, rg.read_regions(tmp_path / f"r{n}.bed", chunksize=1000), n, ["T"],
                    tmp_path / f"x{n}.npy", tmp_path / f"y{n}.npy", 200)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    cache_mb = 50_000 * 4 * 200 / 1e6
    # 10x the regions: the peak stays (chunks in flight vary with thread timing: measured
    # 2.6 vs 3.5 MB once), where growing with n would give about 10x
    assert peaks[50_000] < 2 * peaks[5_000], peaks
    assert peaks[50_000] < cache_mb * 1e6 / 4, peaks  # far below the cache size


def test_dinucleotide_shuffle_preserves_counts(rng):
    for n in (3, 10, 500):
        codes = rng.integers(0, 4, size=n).astype(np.uint8)
        codes[n // 2] = 255  # an N
        out = dinucleotide_shuffle_codes(codes, np.random.default_rng(1))
        pair = lambda c: sorted(zip(c[:-1].tolist(), c[1:].tolist(), strict=True))  # noqa: E731
        assert pair(out) == pair(codes)
        assert out[0] == codes[0] and out[-1] == codes[-1]
    again = dinucleotide_shuffle_codes(codes, np.random.default_rng(1))
    np.testing.assert_array_equal(out, again)  # seeded
    assert (out != codes).mean() > 0.3  # actually shuffled


def test_shuffled_rows_in_cache(small_genome, tmp_path):
    genome, chroms = small_genome
    df = _regions([("chr1", 0, 400, "a_shuf1", "+", 0), ("chr1", 0, 400, "a_shuf2", "+", 0)])
    df["source"] = "shuffle"
    write_cache(genome, [df], 2, ["T"], tmp_path / "x.npy", tmp_path / "y.npy", 400)
    x, _ = load_cache(tmp_path / "x.npy", tmp_path / "y.npy")
    orig = one_hot(chroms["chr1"][:400])
    assert not np.array_equal(x[0], orig) and not np.array_equal(x[0], x[1])
    np.testing.assert_array_equal(x[0].sum(1), orig.sum(1))  # same composition


# --------------------------------------------------------------------------- one contract


def _genome_cache(genome, tmp_path):
    """A genome dataset's cache (test split only written) and its manifest."""
    df = _regions([("chr1", 10, 30, "a", "+", 1), ("chr2", 990, 1010, "c", "-", 255),
                   ("chr3", 490, 510, "d", "+", 0)])
    rg.write_regions(df, tmp_path / "r.bed", ["T"])
    cache = tmp_path / "cache"
    stats = {}
    for split in ("train", "valid", "test"):
        st = write_cache(genome, rg.read_regions(tmp_path / "r.bed", chunksize=2), 3, ["T"],
                         cache / f"{split}.onehot.npy", cache / f"{split}.labels.npy", 20,
                         ids_path=cache / f"{split}.ids.tsv")
        stats[split] = {"split": split, "n": st.n, "positives": st.positives,
                        "ambiguous": st.ambiguous, "sha256": st.sha256}
    positives = {"tasks": {"T": {"read": 5, "dropped": {"unknown_chrom": 2}, "kept": 3}},
                 "merged_duplicates": 1}
    split = {"splits": {s: {"chromosomes": ["chr1"]} for s in stats}, "split": {},
             "how": "config", "dropped": 0, "empty_tasks": []}
    cfg = {"genome": "g.fa", "tasks": {"T": "t.bed"}, "alphabet": "dna", "seq_len": 20}
    manifest = genome_manifest("d", cfg, list(stats.values()), positives, {"method": "x"},
                               split, "0")
    return df, cache, manifest


def test_load_split_of_a_genome_cache_with_region_ids(small_genome, tmp_path):
    genome, _ = small_genome
    df, cache, manifest = _genome_cache(genome, tmp_path)
    split = load_split(cache, "test")
    assert isinstance(split.onehot, np.memmap) and split.onehot.shape == (3, 4, 20)
    assert split.lengths is None and len(split) == 3
    np.testing.assert_array_equal(split.labels[:, 0], [1, 255, 0])
    # the ids are the region names of predictions.tsv.gz, in cache row order
    assert list(split.ids) == ["chr1:10-30(+)", "chr2:990-1010(-)", "chr3:490-510(+)"]
    assert list(split.ids) == list(region_ids(df))
    assert list(read_ids(cache / "test.ids.tsv")["length"]) == [20, 20, 20]
    assert validate_manifest(manifest) is manifest
    assert manifest["kind"] == manifest["source"]["kind"] == "genome"
    assert manifest["targets"]["kinds"] == {"T": "binary"}
    assert manifest["drops"] == {"total": 3, "by_reason": {"unknown_chrom": 2,
                                                           "merged_duplicates": 1},
                                 "per_task": {"T": {"unknown_chrom": 2}}, "split_dropped": 0}


def test_load_split_of_a_sequence_set_and_its_manifest(tmp_path):
    from seqcnn.data.seqsets import load_seqset, write_seqset_cache

    fa = write_fasta(tmp_path / "x.fa", {f"s{i}": "ACGT" * (i % 5 + 1) for i in range(20)})
    (tmp_path / "y.tsv").write_text("id\ty\n" + "".join(f"s{i}\t{i % 2}\n"
                                                          for i in range(20)))
    s = load_seqset(fa, tmp_path / "y.tsv", alphabet="dna")
    manifest = {"dataset": "set", "seqcnn_version": "0",
                **write_seqset_cache(s, tmp_path / "cache")}
    assert validate_manifest(manifest) is manifest
    assert manifest["kind"] == manifest["source"]["kind"] == "seqset"
    assert manifest["source"]["records"] == 20 and manifest["drops"]["total"] == 0
    assert set(MANIFEST_KEYS) <= set(manifest)
    split = load_split(tmp_path / "cache", "test")
    assert split.lengths is not None and len(split.lengths) == len(split) > 0
    assert split.onehot.shape[1:] == (4, s.seq_len)
    np.testing.assert_array_equal(split.ids, s.ids[s.rows("test")])
    np.testing.assert_array_equal(split.lengths, s.lengths[s.rows("test")])


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.pop("targets"), "no 'targets'"),
    (lambda m: m.update(kind="bed"), "kind 'bed' is not one of genome, seqset"),
    (lambda m: m["source"].update(kind="seqset"), "source must be a block"),
    (lambda m: m["targets"].update(tasks=["U"]), "targets"),
    (lambda m: m["counts"].pop("valid"), "counts.valid.n missing"),
    (lambda m: m["drops"].update(total=9), "drops must hold"),
])
def test_manifest_schema_names_each_problem(small_genome, tmp_path, edit, message):
    genome, _ = small_genome
    _, _, manifest = _genome_cache(genome, tmp_path)
    edit(manifest)
    with pytest.raises(ManifestError, match=message) as err:
        validate_manifest(manifest, "results/d/cache/manifest.json")
    assert "snakemake --forcerun results/d/cache/manifest.json" in str(err.value)


def test_load_split_names_a_missing_or_short_part(small_genome, tmp_path):
    genome, _ = small_genome
    _, cache, _ = _genome_cache(genome, tmp_path)
    (cache / "valid.ids.tsv").write_text("id\tlength\nchr1:10-30(+)\t20\n")
    with pytest.raises(ManifestError, match="valid.ids has 1 rows, valid.onehot.npy 3"):
        load_split(cache, "valid")
    (cache / "train.ids.tsv").unlink()
    with pytest.raises(ManifestError, match="train.ids.tsv: missing from the cache"):
        load_split(cache, "train")
