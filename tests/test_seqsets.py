import hashlib
import json

import numpy as np
import pytest
import torch

from conftest import write_text
from seqcnn.alphabet import decode, one_hot
from seqcnn.seqsets import (
    IGNORE,
    KYTE_DOOLITTLE,
    LengthGroupedBatchSampler,
    SeqSetError,
    detect_alphabet,
    find_duplicates,
    length_grouped_batches,
    load_seqset,
    load_seqset_cache,
    pad_batch,
    random_split,
    read_fasta,
    simulate_secondary_structure,
    write_seqset_cache,
    write_seqset_files,
)


def _fasta(path, records, width=7, gz=False):
    text = ""
    for name, seq in records.items():
        text += f">{name} some description\n"
        text += "".join(seq[i:i + width] + "\n" for i in range(0, len(seq), width)) or "\n"
    return write_text(path, text, gz)


def _tsv(path, header, rows, gz=False):
    text = "\t".join(header) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)
    return write_text(path, text, gz)


def _random_seqs(rng, n, letters="ACGT", lo=20, hi=60):
    chars = np.array(list(letters))
    return {f"s{i}": "".join(chars[rng.integers(len(chars), size=int(rng.integers(lo, hi + 1)))])
            for i in range(n)}


# --------------------------------------------------------------------------- reading


def test_fasta_multiline_gzip_and_lowercase(tmp_path):
    recs = {"a": "ACGTACGTACGTAC", "b": "acgtnN", "c": "G" * 30}
    df = read_fasta(_fasta(tmp_path / "x.fa.gz", recs, width=5, gz=True))
    assert list(df["id"]) == ["a", "b", "c"]
    assert list(df["sequence"]) == list(recs.values())
    assert list(df["line"]) == [1, 5, 8]


def test_bad_letter_names_file_record_and_position(tmp_path):
    fa = _fasta(tmp_path / "lib.fa", {"ok": "ACGTACGT", "bad1": "ACGTQCG", "bad2": "AZ"})
    _tsv(tmp_path / "y.tsv", ["id", "y"], [["ok", 1], ["bad1", 0], ["bad2", 1]])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, tmp_path / "y.tsv", alphabet="dna")
    msg = str(err.value)
    assert "lib.fa" in msg and "'bad1'" in msg and "'Q'" in msg and "position 5" in msg
    assert "line 4" in msg and "2 record(s)" in msg and "'bad2'" in msg
    # 'N' is an accepted unknown for DNA, 'X' is not; 'X' is for protein
    fa2 = _fasta(tmp_path / "p.fa", {"p1": "MKVLAXW", "p2": "MKJLA"})
    _tsv(tmp_path / "p.tsv", ["id", "y"], [["p1", 1], ["p2", 0]])
    with pytest.raises(SeqSetError, match=r"p\.fa: record 'p2'.*'J' at position 3"):
        load_seqset(fa2, tmp_path / "p.tsv", alphabet="protein")


@pytest.mark.parametrize(
    "fasta_text, pattern",
    [
        (">a\nACGT\n>b\n>c\nGG\n", r"x\.fa: record 'b' \(line 3\) has an empty sequence"),
        (">a\nACGT\n>b\nCC\n>a\nGG\n", r"x\.fa: duplicate id 'a' \(lines 1, 5\)"),
        ("ACGT\n>a\nAC\n", r"x\.fa, line 1: sequence data before the first '>'"),
        (">\nACGT\n", r"x\.fa, line 1: header '>' has no id"),
        ("", r"x\.fa: no FASTA records"),
    ],
)
def test_fasta_errors(tmp_path, fasta_text, pattern):
    with pytest.raises(SeqSetError, match=pattern):
        read_fasta(write_text(tmp_path / "x.fa", fasta_text))


def test_ids_without_labels_and_labels_without_sequences(tmp_path):
    fa = _fasta(tmp_path / "seqs.fa", {f"s{i}": "ACGT" for i in range(10)})
    rows = [[f"s{i}", 1] for i in range(3, 10)] + [["ghost1", 0], ["ghost2", 1]]
    _tsv(tmp_path / "labels.tsv", ["id", "y"], rows)
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, tmp_path / "labels.tsv")
    msg = str(err.value)
    assert "3 sequence id(s) in" in msg and "'s0', 's1', 's2'" in msg and "seqs.fa" in msg
    assert "2 id(s) in" in msg and "'ghost1', 'ghost2'" in msg and "labels.tsv" in msg


@pytest.mark.parametrize(
    "header, rows, kwargs, pattern",
    [
        (["id", "y"], [["a", 1], ["a", 0], ["b", 1]], {},
         r"y\.tsv: duplicate id 'a' \(lines 2, 3\)"),
        (["name", "y"], [["a", 1], ["b", 0]], {}, r"y\.tsv, line 1: no 'id' column"),
        (["id", "y"], [["a", 1], ["b", ""]], {},
         r"y\.tsv, line 3 \(id 'b'\): empty value in label column 'y'"),
        (["id", "y", "split"], [["a", 1, "train"], ["b", 0, "tst"]], {},
         r"y\.tsv, line 3 \(id 'b'\): split 'tst' is not one of"),
        (["id", "y"], [["a", 1], ["b", 0]], {"label_columns": ["z"]}, r"y\.tsv: no column.*'z'"),
        (["id", "y", "split", "group"], [["a", 1, "train", "g"], ["b", 0, "test", "g"]], {},
         r"y\.tsv: 1 'group' value\(s\) have members in several splits: 'g'"),
    ],
)
def test_label_file_errors(tmp_path, header, rows, kwargs, pattern):
    fa = _fasta(tmp_path / "x.fa", {"a": "ACGT", "b": "ACGA"})
    _tsv(tmp_path / "y.tsv", header, rows)
    with pytest.raises(SeqSetError, match=pattern):
        load_seqset(fa, tmp_path / "y.tsv", **kwargs)


def test_per_position_label_length_mismatch(tmp_path):
    fa = _fasta(tmp_path / "prot.fa", {"p1": "MKVLAAG", "p2": "MKVLA"})
    _tsv(tmp_path / "ss.tsv", ["id", "ss"], [["p1", "CHHHHHC"], ["p2", "CHHC"]])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, tmp_path / "ss.tsv", position_label="ss")
    msg = str(err.value)
    assert "ss.tsv" in msg and "'p2'" in msg and "line 3" in msg
    assert "4 character(s)" in msg and "has 5" in msg
    _tsv(tmp_path / "ss2.tsv", ["id", "ss"], [["p1", "CHHHHHC"], ["p2", "CHXHC"]])
    with pytest.raises(SeqSetError, match=r"'p2'.*'X' at position 3"):
        load_seqset(fa, tmp_path / "ss2.tsv", position_label="ss", position_classes="HEC")


def test_alphabet_auto_detection(tmp_path):
    assert detect_alphabet(["ACGTN", "acgt"])["alphabet"] == "dna"
    assert detect_alphabet(["ACGUN", "GGu"])["alphabet"] == "rna"
    assert detect_alphabet(["ACGT", "ACGU"])["alphabet"] == "protein"
    got = detect_alphabet(["MKVLAAG"])
    assert got["alphabet"] == "protein" and got["observed"] == "AGKLMV"
    fa = _fasta(tmp_path / "r.fa", {"a": "ACGUUN", "b": "GGCA"})
    _tsv(tmp_path / "y.tsv", ["id", "y"], [["a", 1], ["b", 0]])
    s = load_seqset(fa, tmp_path / "y.tsv")
    assert s.alphabet == "rna"
    assert s.report["alphabet_detection"] == {
        "alphabet": "rna", "observed": "ACGNU", "rule": "only A, C, G, U (and N)",
        "detected": True}


def test_multiclass_and_binary_codes(tmp_path):
    fa = _fasta(tmp_path / "x.fa", {f"s{i}": "ACGT" * (i + 1) for i in range(6)})
    rows = [[f"s{i}", b, c, k] for i, (b, c, k) in enumerate(
        zip([0, 1, 1, 0, 1, 0], ["low", "mid", "high", "mid", "low", "low"],
            [0, 2, 1, 2, 0, 0], strict=True))]
    _tsv(tmp_path / "y.tsv", ["id", "bound", "level", "k"], rows)
    s = load_seqset(fa, tmp_path / "y.tsv")
    assert s.tasks == ["bound", "level", "k"]
    assert s.kinds == {"bound": "binary", "level": "multiclass", "k": "multiclass"}
    assert s.classes["level"] == ["high", "low", "mid"]
    assert s.classes["k"] == ["0", "1", "2"] and s.classes["bound"] == ["0", "1"]
    np.testing.assert_array_equal(s.labels[:, 1], [1, 2, 0, 2, 1, 1])
    np.testing.assert_array_equal(s.labels[:, 2], [0, 2, 1, 2, 0, 0])
    assert s.labels.dtype == np.uint8
    s1 = load_seqset(fa, tmp_path / "y.tsv", label_columns=["level"])
    assert s1.tasks == ["level"] and s1.labels.shape == (6, 1)


# --------------------------------------------------------------------------- cache


def test_per_position_round_trip_with_padding(tmp_path):
    table = simulate_secondary_structure(40, np.random.default_rng(1), min_len=20, max_len=50)
    fa, lab = write_seqset_files(table, tmp_path / "p.fa.gz", tmp_path / "p.tsv",
                                 label_columns=["structure"])
    s = load_seqset(fa, lab, position_label="structure", position_classes="HEC",
                    fractions={"train": 0.5, "valid": 0.25, "test": 0.25})
    manifest = write_seqset_cache(s, tmp_path / "cache", chunk_size=7)
    json.dumps(manifest)  # serialisable as is
    assert manifest["classes"] == {"structure": ["H", "E", "C"]}
    assert manifest["label_kind"] == "per_position"
    assert manifest["seq_len"] == s.seq_len == table["sequence"].str.len().max()
    by_id = table.set_index("id")
    for split in ("train", "valid", "test"):
        x, y, lengths = load_seqset_cache(tmp_path / "cache", split)
        ids = (tmp_path / "cache" / f"{split}.ids.tsv").read_text().split("\n")[1:-1]
        assert x.shape == (len(ids), 20, s.seq_len) and y.shape == (len(ids), s.seq_len)
        assert lengths.dtype == np.int32 and y.dtype == np.uint8
        for i, line in enumerate(ids):
            name, n = line.split("\t")
            seq, ss = by_id.loc[name, "sequence"], by_id.loc[name, "structure"]
            assert int(n) == len(seq) == lengths[i]
            assert decode(x[i, :, :lengths[i]], "protein") == seq
            assert x[i, :, lengths[i]:].sum() == 0
            assert "".join("HEC"[c] for c in y[i, :lengths[i]]) == ss
            assert (y[i, lengths[i]:] == IGNORE).all()
        n_split = manifest["counts"][split]["n"]
        assert n_split == len(ids)
        for kind in ("onehot", "labels", "lengths"):
            path = tmp_path / "cache" / f"{split}.{kind}.npy"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert manifest["checksums"][f"{split}.{kind}.npy"]["sha256"] == digest


def test_max_len_crop_versus_drop_and_lengths(tmp_path):
    recs = {"a": "ACGTA", "b": "ACGTACGTAC", "c": "GGGGGGGGGGGG", "d": "TT"}
    fa = _fasta(tmp_path / "x.fa", recs)
    _tsv(tmp_path / "y.tsv", ["id", "y", "split"],
         [["a", 1, "train"], ["b", 0, "train"], ["c", 1, "train"], ["d", 0, "valid"]])
    crop = load_seqset(fa, tmp_path / "y.tsv", max_len=8, too_long="crop")
    assert crop.report["cropped"] == 2 and crop.report["dropped"]["too_long"] == 0
    assert crop.report["too_long"]["examples"] == ["b", "c"]
    write_seqset_cache(crop, tmp_path / "crop")
    x, y, lengths = load_seqset_cache(tmp_path / "crop", "train")
    np.testing.assert_array_equal(lengths, [5, 8, 8])
    np.testing.assert_array_equal(x[1], one_hot("ACGTACGT"))
    np.testing.assert_array_equal(x[0, :, :5], one_hot("ACGTA"))
    assert x.shape == (3, 4, 8) and x[0, :, 5:].sum() == 0
    np.testing.assert_array_equal(y[:, 0], [1, 0, 1])

    drop = load_seqset(fa, tmp_path / "y.tsv", max_len=8, too_long="drop")
    assert drop.report["dropped"]["too_long"] == 2 and drop.report["cropped"] == 0
    assert list(drop.ids) == ["a", "d"] and drop.seq_len == 8
    m = write_seqset_cache(drop, tmp_path / "drop")
    assert m["counts"]["train"]["n"] == 1 and m["counts"]["valid"]["n"] == 1
    np.testing.assert_array_equal(load_seqset_cache(tmp_path / "drop", "valid")[2], [2])

    free = load_seqset(fa, tmp_path / "y.tsv")  # no cap: the dataset's longest, over splits
    assert free.seq_len == 12
    write_seqset_cache(free, tmp_path / "free")
    assert load_seqset_cache(tmp_path / "free", "valid")[0].shape == (1, 4, 12)


# --------------------------------------------------------------------------- splits


def test_group_split_keeps_groups_whole_and_is_seeded():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 8, size=150)
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    strata = rng.random(len(groups)) < 0.3
    a = random_split(len(groups), (0.8, 0.1, 0.1), seed=3, strata=strata, groups=groups)
    for g in np.unique(groups):
        assert len(set(a[groups == g])) == 1, g
    b = random_split(len(groups), (0.8, 0.1, 0.1), seed=3, strata=strata, groups=groups)
    c = random_split(len(groups), (0.8, 0.1, 0.1), seed=4, strata=strata, groups=groups)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    frac = np.array([(a == s).mean() for s in ("train", "valid", "test")])
    np.testing.assert_allclose(frac, [0.8, 0.1, 0.1], atol=0.03)


def test_group_split_through_files(tmp_path):
    table = simulate_secondary_structure(60, np.random.default_rng(2), min_len=20,
                                         max_len=30, family_size=4)
    fa, lab = write_seqset_files(table, tmp_path / "f.fa", tmp_path / "f.tsv")
    s = load_seqset(fa, lab, position_label="structure", seed=1)
    assert s.report["split"]["group_column"] == "group" and s.report["split"]["groups"] == 15
    fam = table.set_index("id").loc[s.ids, "group"].to_numpy()
    for g in np.unique(fam):
        assert len(set(s.split[fam == g])) == 1


def test_stratified_split_keeps_class_fractions():
    rng = np.random.default_rng(5)
    strata = rng.choice(4, size=3000, p=[0.6, 0.3, 0.08, 0.02])
    split = random_split(len(strata), {"train": 0.7, "valid": 0.15, "test": 0.15}, seed=0,
                         strata=strata)
    overall = np.bincount(strata, minlength=4) / len(strata)
    for s in ("train", "valid", "test"):
        share = np.bincount(strata[split == s], minlength=4) / (split == s).sum()
        np.testing.assert_allclose(share, overall, atol=0.01)
    np.testing.assert_allclose((split == "test").mean(), 0.15, atol=0.01)
    # 100 classes of 5: rounding per class would give valid/test nothing (5 * 0.15 < 1)
    small = np.repeat(np.arange(100), 5)
    split = random_split(len(small), (0.7, 0.15, 0.15), seed=0, strata=small)
    assert abs((split == "test").sum() - 75) <= 100 ** 0.5 * 2
    assert abs((split == "valid").sum() - 75) <= 100 ** 0.5 * 2


def test_identical_sequences_across_splits_are_reported_and_deduped(tmp_path):
    recs = {"a": "ACGTACGT", "b": "TTTTCCCC", "c": "acgtacgt", "d": "GGGGAAAA",
            "e": "TTTTCCCC", "f": "TTTTCCCC", "g": "CATCATCA"}
    fa = _fasta(tmp_path / "x.fa", recs)
    splits = ["train", "train", "test", "valid", "valid", "train", "test"]
    _tsv(tmp_path / "y.tsv", ["id", "y", "split"],
         [[k, i % 2, s] for i, (k, s) in enumerate(zip(recs, splits, strict=True))])
    s = load_seqset(fa, tmp_path / "y.tsv")
    dup = s.report["duplicates"]
    assert dup["across_splits"]["sequences"] == 2 and dup["across_splits"]["records"] == 5
    assert dup["across_splits"]["examples"][0] == ["a (train)", "c (test)"]
    assert dup["within_split"]["records"] == 1 and dup["dropped"] == 0
    assert len(s) == 7 and any("more than one split" in w for w in s.report["warnings"])
    across = load_seqset(fa, tmp_path / "y.tsv", dedupe="across")
    assert list(across.ids) == ["a", "b", "d", "f", "g"]
    assert across.report["dropped"]["duplicates"] == 2
    everything = load_seqset(fa, tmp_path / "y.tsv", dedupe="all")
    assert list(everything.ids) == ["a", "b", "d", "g"]
    none = find_duplicates(["x", "y"], ["AC", "AG"], np.array(["train", "test"]))
    assert none["across_splits"]["sequences"] == 0


# --------------------------------------------------------------------------- loading


def test_pad_batch_modes():
    x = np.zeros((3, 4, 6), dtype=np.uint8)
    x[:, 0, :] = 1  # non-zero everywhere, even in the padding: pad_batch must overwrite it
    lengths = np.array([6, 2, 4], dtype=np.int32)
    real = np.arange(6)[None, :] < lengths[:, None]

    z, mask = pad_batch(x, lengths, "zeros")
    assert mask is None and z.dtype == np.float32
    assert (z[:, 0][real] == 1).all() and (z.transpose(0, 2, 1)[~real] == 0).all()

    zm, mask = pad_batch(x, lengths, "zeros+mask")
    np.testing.assert_array_equal(mask, real)
    np.testing.assert_array_equal(zm, z)

    u, mask = pad_batch(torch.from_numpy(x), torch.from_numpy(lengths), "uniform")
    assert mask is None and isinstance(u, torch.Tensor)
    pad_cols = u.permute(0, 2, 1)[torch.from_numpy(~real)]
    assert torch.allclose(pad_cols, torch.full_like(pad_cols, 0.25))
    assert torch.equal(u.permute(0, 2, 1)[torch.from_numpy(real)],
                       torch.from_numpy(z).permute(0, 2, 1)[torch.from_numpy(real)])

    t, mask = pad_batch(x[1:], lengths[1:], "zeros+mask", trim=True)
    assert t.shape == (2, 4, 4) and mask.shape == (2, 4)
    with pytest.raises(ValueError, match="padding mode"):
        pad_batch(x, lengths, "reflect")
    with pytest.raises(ValueError, match="lengths must lie"):
        pad_batch(x, np.array([7, 1, 1]), "zeros")


def test_length_grouped_batches_cover_once_with_low_spread():
    rng = np.random.default_rng(0)
    lengths = rng.integers(50, 500, size=1003)
    batches = length_grouped_batches(lengths, 32, seed=1, epoch=0)
    flat = np.concatenate(batches)
    assert len(batches) == 32 and np.array_equal(np.sort(flat), np.arange(1003))
    spread = np.mean([np.ptp(lengths[b]) for b in batches[:-1]])
    random_spread = np.mean([np.ptp(lengths[b]) for b in np.array_split(rng.permutation(1003),
                                                                        32)])
    assert spread < 0.15 * random_spread
    again = length_grouped_batches(lengths, 32, seed=1, epoch=0)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    other = length_grouped_batches(lengths, 32, seed=1, epoch=1)
    assert not np.array_equal(np.concatenate(other), flat)
    # batch order is shuffled: not sorted by length across the epoch
    means = [lengths[b].mean() for b in batches]
    assert not (np.all(np.diff(means) >= 0) or np.all(np.diff(means) <= 0))
    dropped = length_grouped_batches(lengths, 32, seed=1, epoch=0, drop_last=True)
    assert len(dropped) == 31 and all(len(b) == 32 for b in dropped)
    sampler = LengthGroupedBatchSampler(lengths, 32, seed=1)
    sampler.set_epoch(1)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 32 and keys[0][0] == 1
    assert np.array_equal(keys[0][1], other[0])


# --------------------------------------------------------------------------- simulation


def _dominant_period(segments, min_len):
    power = np.zeros(257)
    for seg in segments:
        if len(seg) < min_len:
            continue
        h = np.array([KYTE_DOOLITTLE[a] for a in seg])
        power += np.abs(np.fft.rfft(h - h.mean(), n=512)) ** 2
    freqs = np.fft.rfftfreq(512)
    k = 1 + int(np.argmax(power[1:]))  # skip the zero frequency
    return 1.0 / freqs[k]


def _segments(table) -> dict[str, list[str]]:
    """The residues of every H, E and C segment of a simulated table, by class."""
    segments = {"H": [], "E": [], "C": []}
    for seq, ss in zip(table["sequence"], table["structure"], strict=True):
        start = 0
        for i in range(1, len(ss) + 1):
            if i == len(ss) or ss[i] != ss[start]:
                segments[ss[start]].append(seq[start:i])
                start = i
    return segments


def test_simulated_protein_periodicities():
    table = simulate_secondary_structure(150, np.random.default_rng(0))
    lengths = table["sequence"].str.len()
    assert lengths.min() >= 60 and lengths.max() <= 200 and lengths.nunique() > 50
    assert (table["sequence"].str.len() == table["structure"].str.len()).all()
    segments = _segments(table)
    assert all(len(v) > 50 for v in segments.values())
    assert abs(_dominant_period(segments["H"], 12) - 3.6) < 0.25
    assert abs(_dominant_period(segments["E"], 6) - 2.0) < 0.1
    # deterministic from the generator
    again = simulate_secondary_structure(150, np.random.default_rng(0))
    assert again.equals(table)


def test_shared_residues_leave_only_the_spacing_to_tell_strands_from_helices():
    """With shared_residues strands draw from the helix pools: the residue sets of H and E are
    the same, yet strands still alternate (period 2) and helices repeat every 3.6."""
    table = simulate_secondary_structure(150, np.random.default_rng(0), noise=0.0,
                                         shared_residues=True)
    own = simulate_secondary_structure(150, np.random.default_rng(0), noise=0.0)
    for t, same in ((table, True), (own, False)):
        segments = _segments(t)
        assert (set("".join(segments["H"])) == set("".join(segments["E"]))) is same
        assert abs(_dominant_period(segments["H"], 12) - 3.6) < 0.25
        assert abs(_dominant_period(segments["E"], 6) - 2.0) < 0.1
