
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import write_text
from seqcnn.data import regions as rg
from seqcnn.data.fasta import write_fasta
from seqcnn.data.regions import BedFormatError, RegionDropError


@pytest.mark.parametrize("gz", [False, True])
def test_reads_bed_skipping_headers(tmp_path, gz):
    text = ("track name=x\nbrowser position chr1:1-100\n# comment\n\n"
            "chr1\t10\t20\tr1\t0\t+\nchr2\t5\t9\tr2\t0\t-\n")
    df = rg.read_bed(write_text(tmp_path / ("a.bed.gz" if gz else "a.bed"), text, gz))
    assert list(df["chrom"]) == ["chr1", "chr2"]
    assert list(df["start"]) == [10, 5] and list(df["end"]) == [20, 9]
    assert list(df["strand"]) == ["+", "-"]
    assert list(df["line"]) == [5, 6]  # original line numbers, headers counted
    assert (df["summit"] == -1).all()


def test_reads_narrowpeak_summit(tmp_path):
    p = write_text(tmp_path / "x.narrowPeak", "chr1\t100\t300\tp\t0\t.\t1\t1\t1\t50\n")
    df = rg.read_bed(p)
    assert df["summit"].tolist() == [50]
    out = rg.resize(df, 20)
    assert out[["start", "end", "summit"]].values.tolist() == [[140, 160, 10]]


def test_bed3_centre_resize():
    df = pd.DataFrame({"chrom": ["c"], "start": [100], "end": [201], "name": ["."],
                       "strand": ["."], "summit": [-1]})
    out = rg.resize(df, 10)
    assert (out["start"].item(), out["end"].item()) == (145, 155)


@pytest.mark.parametrize(
    "line, message",
    [
        ("chr1\t10", "line 2: 2 column(s), BED needs at least 3"),
        ("chr1\tten\t20", "line 2: start 'ten' is not an integer"),
        ("chr1\t1.5\t20", "line 2: start '1.5' is not an integer"),
        ("chr1\t-5\t20", "line 2: start '-5' is negative"),
        ("chr1\t10\t-20", "line 2: end '-20' is negative"),
        ("chr1\t30\t20", "line 2: start (30) >= end (20)"),
        ("chr1\t20\t20", "line 2: start (20) >= end (20)"),
        ("chr1\t10\t20\tx\t0\tplus", "line 2: strand (column 6) is 'plus'"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, line, message):
    p = write_text(tmp_path / "bad.bed", "chr1\t0\t5\n" + line + "\n")
    with pytest.raises(BedFormatError) as err:
        rg.read_bed(p)
    assert str(p) in str(err.value)
    assert message in str(err.value)


def test_bad_narrowpeak_summit_and_columns(tmp_path):
    p = write_text(tmp_path / "a.narrowPeak", "chr1\t0\t100\tp\t0\t.\t1\t1\t1\t100\n")
    with pytest.raises(BedFormatError, match=r"a.narrowPeak, line 1: summit .* \[0, 100\)"):
        rg.read_bed(p)
    p = write_text(tmp_path / "b.narrowPeak", "chr1\t0\t100\tp\n")
    with pytest.raises(BedFormatError, match="line 1: narrowPeak needs 10 columns"):
        rg.read_bed(p)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="BED file not found"):
        rg.read_bed("/nonexistent/x.bed")


def test_paths_with_spaces(tmp_path):
    d = tmp_path / "my peaks"
    d.mkdir()
    p = write_text(d / "peaks of A.bed", "chr1\t10\t20\n")
    assert len(rg.read_bed(p)) == 1


def test_strand_aware_resize_gives_reverse_complements(small_genome):
    from seqcnn.alphabet import reverse_complement
    from seqcnn.data.cache import encode_regions

    genome, _ = small_genome
    # an odd-length feature: the '-' copy must be the mirror image of the '+' copy
    df = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [1001, 1001], "end": [1010, 1010],
                       "name": ["p", "m"], "strand": ["+", "-"], "summit": [-1, -1]})
    out = rg.resize(df, 6)
    assert out["start"].tolist() == [1002, 1003]
    x = encode_regions(genome, out, 6)
    # the '-' window is mirrored about the feature (1 bp from its end, as '+' is from its
    # start) and is read on the reverse strand
    np.testing.assert_array_equal(
        x[1], reverse_complement(encode_regions(genome, out.assign(strand="+"), 6)[1]))


def test_filter_drops_with_counts_and_strict_error(small_genome, tmp_path):
    genome, _ = small_genome
    bed = write_text(tmp_path / "p.bed", "\n".join([
        "chr1\t100\t200",          # kept
        "chrX\t100\t200",          # unknown chromosome
        "chr1\t4990\t5000",        # runs off the end after resizing to 100
        "chr3\t0\t100",            # all N
        "chr2\t500\t600",          # lowercase: kept
        "chr1\t2000\t2100",        # blacklisted
    ]) + "\n")
    regions = rg.resize(rg.read_bed(bed), 100)
    black = pd.DataFrame({"chrom": ["chr1"], "start": [2050], "end": [2060]})
    kept, counts = rg.filter_regions(regions, genome, 0.1, black)
    assert kept["chrom"].tolist() == ["chr1", "chr2"]
    assert dict(counts) == {"unknown_chrom": 1, "off_chrom_end": 1, "blacklist": 1,
                            "too_many_n": 1}
    with pytest.raises(RegionDropError, match=r"p.bed, line 2: region dropped \(unknown_chrom\)"):
        rg.filter_regions(regions, genome, 0.1, black, strict=True)
    with pytest.raises(RegionDropError, match=r"line 3: .*off_chrom_end"):
        rg.filter_regions(regions.drop(index=1), genome, 0.1, black, strict=True)


def test_duplicates_merge_with_union_of_labels():
    def table(rows):
        return pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "strand", "summit"]
                            ).assign(file="f", line=1)

    a = table([("c", 0, 10, "a1", ".", -1), ("c", 0, 10, "a1dup", ".", -1),
               ("c", 20, 30, "a2", ".", -1)])
    b = table([("c", 0, 10, "b1", ".", -1), ("c", 40, 50, "b2", ".", -1)])
    merged, n = rg.label_and_merge({"A": a, "B": b})
    assert n == 2
    got = {(r.start, r.A, r.B) for r in merged.itertuples()}
    assert got == {(0, 1, 1), (20, 1, 0), (40, 0, 1)}


def test_write_and_read_regions_roundtrip(tmp_path):
    df = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [0, 5], "end": [10, 15],
                       "name": ["a", "b"], "strand": [".", "-"], "T1": np.uint8([1, 0]),
                       "source": ["peak", "background"]})
    rg.write_regions(df, tmp_path / "r.bed", ["T1"])
    back = rg.read_regions(tmp_path / "r.bed")
    assert rg.task_columns(back) == ["T1"]
    assert back[["chrom", "start", "end", "strand", "T1", "source"]].values.tolist() == \
        df[["chrom", "start", "end", "strand", "T1", "source"]].values.tolist()
    # a BED reader sees the header as a comment
    assert len(rg.read_bed(tmp_path / "r.bed", narrowpeak=False)) == 2


def test_overlaps():
    a = pd.DataFrame({"chrom": ["c", "c", "c", "d"], "start": [0, 10, 30, 0],
                      "end": [5, 20, 40, 5]})
    b = pd.DataFrame({"chrom": ["c", "c"], "start": [4, 100], "end": [12, 200]})
    assert rg.overlaps(a, b).tolist() == [True, True, False, False]


# --------------------------------------------------------------------------- streaming


def _in_memory(task_files, genome, seq_len, blacklist, strict, out, max_n=0.1,
               label_overlap=0.5):
    """The in-memory path (prepare_positives before streaming): the reference."""
    per_task, tasks = {}, {}
    for task, path in task_files.items():
        bed = rg.read_bed(path)
        kept, drops = rg.filter_regions(rg.resize(bed, seq_len), genome, max_n, blacklist,
                                        strict)
        per_task[task] = kept
        unknown = bed.loc[~bed["chrom"].isin(list(genome.sizes)), "chrom"].value_counts()
        tasks[task] = {"file": path, "read": len(bed), "kept": len(kept),
                       "dropped": dict(drops),
                       "unknown_chroms": dict(sorted(unknown.items(),
                                                     key=lambda kv: (-kv[1], kv[0]))[:10])}
    merged, n_merged = rg.label_and_merge(per_task)
    merged = rg.sort_regions(merged, genome.sizes)
    merged = rg.label_by_overlap(merged, list(task_files), label_overlap)
    merged["source"] = "peak"
    rg.write_regions(merged, out, list(task_files))
    return {"tasks": tasks, "merged_duplicates": n_merged, "positives": len(merged),
            "positives_per_task": {t: int((merged[t] == 1).sum()) for t in task_files},
            "ambiguous_per_task": {t: int((merged[t] == 255).sum()) for t in task_files},
            "empty_tasks": []}


def _outcome(fn, out):
    """The file written, or the error raised."""
    try:
        fn()
    except (BedFormatError, RegionDropError) as err:
        return f"{type(err).__name__}: {err}"
    return out.read_bytes()


SIZES = {"chr1": 5000, "chr2": 3000, "chr3": 2500}  # small_genome; chr3 has N at both ends


def _peak_files(tmp_path, rng, n=60):
    """Four task files sharing a pool of intervals (duplicates within and across tasks,
    on every strand): BED6 with headers, gzipped narrowPeak, BED3 then BED6 lines (the
    table's columns depend on the widest line), BED6 then BED3 lines; regions on an
    unknown chromosome, in chr3's N runs, near chromosome ends."""
    pool = []
    for _ in range(40):
        c = rng.choice(["chr1", "chr2", "chr3", "chrX"], p=[.45, .25, .25, .05])
        s = int(rng.integers(0, SIZES.get(c, 4000) - 1))
        pool.append((c, s, s + int(rng.integers(1, 150))))

    def lines(kind, k):
        out = ["track name=x"] if kind != "bed3+6" else []
        for i in range(k):
            if rng.random() < 0.08:
                out.append(str(rng.choice(["# comment", "", "browser x", "   "])))
            c, s, e = pool[rng.integers(len(pool))]
            strand = rng.choice(["+", "-", "."])
            short = (kind == "bed3+6" and i < 12) or (kind == "bed6+3" and i >= k - 12)
            if kind == "np":
                out.append(f"{c}\t{s}\t{e}\tn{i}\t0\t{strand}\t1\t1\t1\t{rng.integers(-1, e - s)}")
            elif short:
                out.append(f"{c}\t{s}\t{e}")
            else:
                out.append(f'{c}\t{s}\t{e}\tn{i}"q\t0\t{strand}')
        return "\n".join(out) + "\n"

    return {"A": str(write_text(tmp_path / "a.bed", lines("bed6", n))),
            "B": str(write_text(tmp_path / "b.narrowPeak.gz", lines("np", n), gz=True)),
            "C": str(write_text(tmp_path / "c.bed", lines("bed3+6", n // 2))),
            "D": str(write_text(tmp_path / "d.bed", lines("bed6+3", n // 2)))}


BLACK = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [1000, 200], "end": [1100, 260]})


@pytest.mark.parametrize("chunksize", [1, 3, 7])
def test_read_bed_chunks_are_pieces_of_the_whole(tmp_path, chunksize):
    files = _peak_files(tmp_path, np.random.default_rng(3))
    for path in files.values():
        chunks = list(rg.read_bed(path, chunksize=chunksize))
        assert max(len(c) for c in chunks) <= chunksize
        pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), rg.read_bed(path))
    empty = write_text(tmp_path / "e.bed", "track x\n# nothing\n")
    assert list(rg.read_bed(empty, chunksize=2)) == []


@pytest.mark.parametrize(
    "bad_lines, message",
    [
        ({23: "chr1\t30\t20"}, "line 23: start (30) >= end (20)"),
        ({23: "chr1\t10"}, "line 23: 2 column(s)"),
        # several errors: the one reading at once reports (first check, then first line)
        ({3: "chr1\t30\t20", 20: "chr1\tx\t20"}, "line 20: start 'x' is not an integer"),
        ({3: "chr1\t5\tx", 20: "chr1\tx\t20"}, "line 20: start 'x' is not an integer"),
        ({9: "chr1\tx\t20", 20: "chr1\t5"}, "line 20: 2 column(s)"),
    ],
)
def test_read_bed_chunks_errors_name_the_right_line(tmp_path, bad_lines, message):
    lines = ["track name=x", "# header"] + [f"chr1\t{i}\t{i + 10}" for i in range(30)]
    for no, text in bad_lines.items():
        lines[no - 1] = text
    path = write_text(tmp_path / "p.bed", "\n".join(lines) + "\n")
    with pytest.raises(BedFormatError) as whole:
        rg.read_bed(path)
    with pytest.raises(BedFormatError) as chunked:
        list(rg.read_bed(path, chunksize=7))
    assert str(path) in str(chunked.value) and message in str(chunked.value)
    assert str(chunked.value) == str(whole.value)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("seq_len, chunk_size", [(50, 7), (51, 7), (50, 1000)])
def test_prepare_regions_matches_in_memory_path(small_genome, tmp_path, seed, seq_len,
                                                chunk_size):
    genome, _ = small_genome
    files = _peak_files(tmp_path, np.random.default_rng(seed))
    ref = _in_memory(files, genome, seq_len, BLACK, False, tmp_path / "ref.bed")
    got = rg.prepare_regions(files, genome, seq_len, tmp_path / "out" / "new.bed", 0.1,
                             BLACK, chunk_size=chunk_size, tmp_dir=tmp_path)
    assert (tmp_path / "out" / "new.bed").read_bytes() == (tmp_path / "ref.bed").read_bytes()
    assert got.pop("summit") == {"A": False, "B": True, "C": False, "D": False}
    assert got == ref
    # the inputs exercise what they should
    assert ref["merged_duplicates"] > 0
    assert all(n > 0 for n in ref["positives_per_task"].values())
    assert all(n > 0 for n in ref["ambiguous_per_task"].values())
    exact = _in_memory(files, genome, seq_len, BLACK, False, tmp_path / "x.bed",
                       label_overlap=None)["positives_per_task"]
    assert all(ref["positives_per_task"][t] > exact[t] for t in files)  # overlaps count
    assert all(sum(ref["tasks"][t]["dropped"][r] for t in files) > 0 for r in rg.DROP_REASONS)
    text = (tmp_path / "ref.bed").read_text()
    assert "\t-\t" in text and "\t+\t" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("seqcnn_regions_")] == []


def _strict_case(tmp_path, case):
    """Task files for a strict-mode scenario: good lines, with the given ones replaced."""
    good = [f"chr1\t{1200 + 50 * i}\t{1260 + 50 * i}\tr{i}\t0\t+" for i in range(40)]
    files = {}
    for task, changes in case.items():
        lines = ["track name=x"] + good
        for no, text in changes.items():
            lines[no - 1] = text
        files[task] = str(write_text(tmp_path / f"{task}.bed", "\n".join(lines) + "\n"))
    return files


STRICT_CASES = {
    # name: ({task: {line: text}}, expected error (None: no error))
    "clean": ({"A": {}, "B": {}}, None),
    "drop in a later chunk": ({"A": {17: "chrX\t10\t20"}}, "A.bed, line 17: region dropped "
                                                           "(unknown_chrom)"),
    "N-rich line before an unknown chromosome": (
        {"A": {30: "chrX\t10\t20", 12: "chr3\t100\t200"}}, "A.bed, line 12: region dropped "
                                                        "(too_many_n)"),
    "unknown chromosome before an N-rich line": (
        {"A": {12: "chrX\t10\t20", 30: "chr3\t100\t200"}}, "A.bed, line 12: region dropped "
                                                        "(unknown_chrom)"),
    "first task's N-rich line before the second's format error": (
        {"A": {35: "chr3\t2300\t2400"}, "B": {3: "chr1\t5"}}, "A.bed, line 35: region "
                                                              "dropped (too_many_n)"),
    "format error after a drop in the same file": (
        {"A": {2: "chr1\t4990\t5000", 30: "chr1\t9\t5"}}, "A.bed, line 30: start (9) >= end"),
    "second task's drop": ({"A": {}, "B": {40: "chr1\t1020\t1040"}},
                           "B.bed, line 40: region dropped (blacklist)"),
}


@pytest.mark.parametrize("case", list(STRICT_CASES))
def test_prepare_regions_strict_errors_match_in_memory_path(small_genome, tmp_path, case):
    genome, _ = small_genome
    files = _strict_case(tmp_path, STRICT_CASES[case][0])
    expected = STRICT_CASES[case][1]
    ref = _outcome(lambda: _in_memory(files, genome, 100, BLACK, True, tmp_path / "ref.bed"),
                   tmp_path / "ref.bed")
    out = tmp_path / "new.bed"
    got = _outcome(lambda: rg.prepare_regions(files, genome, 100, out, 0.1, BLACK, True,
                                              chunk_size=7), out)
    assert got == ref
    if expected is None:
        assert isinstance(got, bytes)
    else:
        assert expected in got
        assert not out.exists()  # nothing (not even a partial file) is left on an error
        assert list(tmp_path.glob(".new.bed*")) == []


def _big_peaks(path, n, sizes, seed):
    """``n`` BED6 lines at random on the chromosomes of ``sizes``."""
    rng = np.random.default_rng(seed)
    names = list(sizes)
    k = rng.integers(0, len(names), n)
    start = (rng.random(n) * (np.array([sizes[c] for c in names])[k] - 400)).astype(np.int64)
    pd.DataFrame({"c": np.array(names)[k], "s": start, "e": start + rng.integers(50, 400, n),
                  "n": [f"p{i}" for i in range(n)], "x": 0,
                  "t": rng.choice(["+", "-", "."], n)}).to_csv(path, sep="\t", header=False,
                                                               index=False)
    return path


def test_prepare_regions_memory_does_not_grow_with_regions(tmp_path, rng):
    import tracemalloc

    from conftest import random_dna
    from seqcnn.data.genome import Genome, prepare_fasta

    chroms = {"c1": random_dna(300_000, rng), "c2": "N" * 1000 + random_dna(200_000, rng)}
    prepare_fasta(write_fasta(tmp_path / "g.fa", chroms), tmp_path / "p" / "g.fa")
    genome = Genome(tmp_path / "p" / "g.fa")

    def peak(n, streamed):
        files = {"A": _big_peaks(tmp_path / f"a{n}.bed", n, genome.sizes, n),
                 "B": _big_peaks(tmp_path / f"b{n}.bed", n // 2, genome.sizes, n + 1)}
        out = tmp_path / f"out{n}.bed"
        tracemalloc.start()
        try:
            if streamed:
                rg.prepare_regions(files, genome, 200, out, chunk_size=2000, tmp_dir=tmp_path)
            else:
                _in_memory(files, genome, 200, None, False, out)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(5000, True), peak(50_000, True)
    assert large < 1.5 * small, (small, large)
    # the check can tell: the in-memory path grows with the regions
    assert peak(20_000, False) > 2 * peak(5000, False)


# --------------------------------------------------------------------------- issue 15
# chromosome names, empty tasks, labels by overlap, input errors


def _genome(tmp_path, rng, names, length=3000):
    """A prepared genome with chromosomes ``names`` of ``length`` random bases."""
    from conftest import random_dna
    from seqcnn.data.genome import Genome, prepare_fasta

    src = write_fasta(tmp_path / "named.fa", {n: random_dna(length, rng) for n in names})
    prepare_fasta(src, tmp_path / "named" / "g.fa")
    return Genome(tmp_path / "named" / "g.fa")


def _bed(path, chroms, starts=(100, 600, 1100, 1600)):
    lines = [f"{c}\t{s}\t{s + 100}\tp{i}" for i, (c, s) in
             enumerate((c, s) for c in chroms for s in starts)]
    return str(write_text(path, "\n".join(lines) + "\n"))


@pytest.mark.parametrize(
    "bed_names, genome_names, hint",
    [
        (["1", "2"], ["chr1", "chr2", "chr3"], "add the 'chr' prefix"),
        (["chr1", "chr2"], ["1", "2", "3"], "remove the 'chr' prefix"),
        (["CHR1", "CHR2"], ["chr1", "chr2"], "differ only in case"),
        (["NC_003070.9", "NC_003071.7"], ["1", "2"], "no simple renaming"),
    ],
)
def test_chromosome_names_that_do_not_match_stop_with_both_lists(tmp_path, rng, bed_names,
                                                                 genome_names, hint):
    from seqcnn.errors import InputError

    genome = _genome(tmp_path, rng, genome_names)
    peaks = _bed(tmp_path / "peaks.bed", bed_names)
    with pytest.raises(rg.ChromNameError) as err:
        rg.prepare_regions({"A": peaks}, genome, 100, tmp_path / "out.bed")
    msg = str(err.value)
    assert isinstance(err.value, InputError)
    assert peaks in msg and "task 'A'" in msg and hint in msg
    assert "8 of 8 regions" in msg
    assert ", ".join(bed_names) in msg and ", ".join(genome_names) in msg
    assert "chrom_aliases" in msg
    assert not (tmp_path / "out.bed").exists()
    # the blacklist (and a user negatives BED) go through the same check
    with pytest.raises(rg.ChromNameError, match="blacklist"):
        rg.read_genome_bed(peaks, genome.sizes, what="blacklist")


def test_subset_genome_drops_with_counts_rather_than_stopping(tmp_path, rng):
    genome = _genome(tmp_path, rng, ["chr2"])
    peaks = _bed(tmp_path / "p.bed", ["chr1", "chr2", "chr3", "chr4"])
    got = rg.prepare_regions({"A": peaks}, genome, 100, tmp_path / "out.bed")
    assert got["tasks"]["A"]["dropped"]["unknown_chrom"] == 12
    assert got["tasks"]["A"]["unknown_chroms"] == {"chr1": 4, "chr3": 4, "chr4": 4}
    assert got["positives_per_task"] == {"A": 4}


@pytest.mark.parametrize("genome_first", [True, False])
def test_chrom_aliases_rename_bed_chromosomes(tmp_path, rng, genome_first):
    genome = _genome(tmp_path, rng, ["1", "2"])
    peaks = _bed(tmp_path / "peaks.bed", ["NC_003070.9", "NC_003071.7"])
    rows = [("1", "NC_003070.9", "CP002684.1"), ("2", "NC_003071.7", "CP002685.1")]
    if genome_first:  # UCSC chromAlias.txt: a header, the genome's name first
        text = "# ucsc\trefseq\tgenbank\n" + "".join("\t".join(r) + "\n" for r in rows)
    else:  # alias -> name
        text = "".join(f"{a}\t{n}\n" for n, *al in rows for a in al)
    path = write_text(tmp_path / "aliases.tsv", text)
    aliases = rg.read_chrom_aliases(path, genome.sizes)
    assert aliases["NC_003070.9"] == "1" and aliases["CP002685.1"] == "2"
    got = rg.prepare_regions({"A": peaks}, genome, 100, tmp_path / "out.bed",
                             chrom_aliases=aliases)
    assert got["positives_per_task"] == {"A": 8}
    out = rg.read_regions(tmp_path / "out.bed")
    assert sorted(set(out["chrom"])) == ["1", "2"]
    black = rg.read_genome_bed(peaks, genome.sizes, aliases, what="blacklist")
    assert set(black["chrom"]) == {"1", "2"}


def test_chrom_aliases_file_matching_no_genome_name(tmp_path, rng):
    from seqcnn.errors import InputError

    genome = _genome(tmp_path, rng, ["1", "2"])
    path = write_text(tmp_path / "aliases.tsv", "chrA\tfoo\nchrB\tbar\n")
    with pytest.raises(InputError, match=r"aliases.tsv: no column .* genome's chromosome"):
        rg.read_chrom_aliases(path, genome.sizes)
    path = write_text(tmp_path / "short.tsv", "1\tNC_1\n2\n")
    with pytest.raises(InputError, match=r"short.tsv, line 2: .*two columns"):
        rg.read_chrom_aliases(path, genome.sizes)


def test_seq_len_longer_than_every_chromosome(small_genome, tmp_path):
    from seqcnn.errors import ConfigError

    genome, _ = small_genome
    peaks = _bed(tmp_path / "p.bed", ["chr1"])
    with pytest.raises(ConfigError, match=r"seq_len 6000 is longer than every chromosome .*"
                                          r"longest: chr1, 5000 bp"):
        rg.prepare_regions({"A": peaks}, genome, 6000, tmp_path / "out.bed")


@pytest.mark.parametrize("text", ["", "track name=x\n# nothing here\n\n"])
def test_task_without_regions_is_an_error(small_genome, tmp_path, text):
    from seqcnn.errors import EmptyTaskError

    genome, _ = small_genome
    good = _bed(tmp_path / "a.bed", ["chr1"])
    empty = str(write_text(tmp_path / "b.bed", text))
    with pytest.raises(EmptyTaskError) as err:
        rg.prepare_regions({"A": good, "B": empty}, genome, 100, tmp_path / "out.bed")
    msg = str(err.value)
    assert "task 'B'" in msg and empty in msg and "no regions" in msg
    assert "allow_empty_tasks" in msg and "'A'" not in msg
    assert not (tmp_path / "out.bed").exists()


@pytest.mark.parametrize("lines, reason", [
    (["chr1\t4990\t5000", "chr2\t0\t10"], "off_chrom_end 2"),
    (["chr1\t1020\t1040", "chr2\t210\t250"], "blacklist 2"),
    (["chr3\t100\t200", "chr3\t2300\t2400"], "too_many_n 2"),
])
def test_task_with_every_region_dropped_is_an_error(small_genome, tmp_path, lines, reason):
    from seqcnn.errors import EmptyTaskError

    genome, _ = small_genome
    good = _bed(tmp_path / "a.bed", ["chr1"])
    bad = str(write_text(tmp_path / "b.bed", "\n".join(lines) + "\n"))
    with pytest.raises(EmptyTaskError) as err:
        rg.prepare_regions({"A": good, "B": bad}, genome, 100, tmp_path / "out.bed", 0.1,
                           BLACK, chunk_size=1)
    msg = str(err.value)
    assert "task 'B'" in msg and bad in msg and "all 2 regions" in msg and reason in msg
    assert "allow_empty_tasks: true" in msg


def test_allow_empty_tasks_keeps_the_task(small_genome, tmp_path):
    genome, _ = small_genome
    good = _bed(tmp_path / "a.bed", ["chr1"])
    empty = str(write_text(tmp_path / "b.bed", "# nothing\n"))
    got = rg.prepare_regions({"A": good, "B": empty}, genome, 100, tmp_path / "out.bed",
                             allow_empty_tasks=True)
    assert got["empty_tasks"] == ["B"]
    out = rg.read_regions(tmp_path / "out.bed")
    assert rg.task_columns(out) == ["A", "B"] and (out["B"] == 0).all() and len(out) == 4


def test_labels_by_overlap(small_genome, tmp_path):
    """A: chr1:1000-1100; B overlaps it by 90 bp (90 %); C by 30 bp (30 %)."""
    genome, _ = small_genome
    files = {t: str(write_text(tmp_path / f"{t}.bed", f"chr1\t{s}\t{s + 100}\t{t}\n"))
             for t, s in {"A": 1000, "B": 1010, "C": 1070}.items()}
    got = rg.prepare_regions(files, genome, 100, tmp_path / "out.bed")
    out = rg.read_regions(tmp_path / "out.bed")
    assert out[["start", "A", "B", "C"]].values.tolist() == [
        [1000, 1, 1, 255],   # C overlaps A's window by 30 bp: ambiguous for C
        [1010, 1, 1, 255],   # C overlaps B's window by 40 bp: ambiguous
        [1070, 255, 255, 1],
    ]
    assert got["positives_per_task"] == {"A": 2, "B": 2, "C": 1}
    assert got["ambiguous_per_task"] == {"A": 1, "B": 1, "C": 2}
    # label_overlap = 0.3: the 30 % overlap is enough; 1.0: identical windows only
    rg.prepare_regions(files, genome, 100, tmp_path / "o3.bed", label_overlap=0.3)
    assert (rg.read_regions(tmp_path / "o3.bed")[["A", "B", "C"]] == 1).all().all()
    rg.prepare_regions(files, genome, 100, tmp_path / "o1.bed", label_overlap=1.0)
    labels = rg.read_regions(tmp_path / "o1.bed")[["A", "B", "C"]].values.tolist()
    assert labels == [[1, 255, 255], [255, 1, 255], [255, 255, 1]]


def test_overlap_labels_ignore_other_chromosomes_and_far_regions(small_genome, tmp_path):
    genome, _ = small_genome
    files = {"A": str(write_text(tmp_path / "a.bed", "chr1\t1000\t1100\nchr1\t1100\t1200\n")),
             "B": str(write_text(tmp_path / "b.bed", "chr2\t1000\t1100\n"))}
    rg.prepare_regions(files, genome, 100, tmp_path / "out.bed")
    out = rg.read_regions(tmp_path / "out.bed")
    # adjacent windows (0 bp overlap) are not ambiguous; nor is the same place elsewhere
    assert out[["chrom", "start", "A", "B"]].values.tolist() == [
        ["chr1", 1000, 1, 0], ["chr1", 1100, 1, 0], ["chr2", 1000, 0, 1]]


def test_bed_errors_are_input_errors():
    from seqcnn.errors import InputError

    assert issubclass(BedFormatError, InputError) and issubclass(RegionDropError, InputError)
    assert issubclass(BedFormatError, ValueError)


def test_truncated_gzip_bed_names_the_file(tmp_path):
    from seqcnn.errors import InputError

    text = "".join(f"chr1\t{i}\t{i + 10}\n" for i in range(0, 200_000, 20))
    full = write_text(tmp_path / "full.bed.gz", text, gz=True).read_bytes()
    cut = tmp_path / "cut.bed.gz"
    cut.write_bytes(full[: len(full) // 2])
    for read in (lambda: rg.read_bed(cut), lambda: list(rg.read_bed(cut, chunksize=100))):
        with pytest.raises(InputError, match=r"cut.bed.gz: truncated or corrupt gzip.*"
                                             r"re-download or re-compress"):
            read()


@pytest.mark.parametrize("seed", [0, 1])
def test_streamed_overlap_labels_match_in_memory(seed):
    """The labeller's carry across chunks, on dense windows of three chromosomes."""
    rng = np.random.default_rng(seed)
    n, seq_len = 400, 20
    table = pd.DataFrame({"chrom": np.sort(rng.choice(["a", "b", "c"], n)),
                          "start": rng.integers(0, 600, n)})
    table = table.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    table["end"] = table["start"] + seq_len
    identity = np.zeros((n, 3), np.uint8)
    identity[np.arange(n), rng.integers(0, 3, n)] = 1
    for j, t in enumerate("XYZ"):
        table[t] = identity[:, j]
    ref = rg.label_by_overlap(table, list("XYZ"), 0.5)[list("XYZ")].to_numpy()
    labeller = rg._Labeller(3, seq_len, rg.min_overlap_bp(seq_len, 0.5))
    rank = pd.factorize(table["chrom"])[0]
    got, i = [], 0
    while i < n:
        j = i + int(rng.integers(1, 30))
        out = labeller.add({"rank": rank[i:j], "start": table["start"].to_numpy()[i:j],
                            "labels": identity[i:j]})
        got += [] if out is None else [out["labels"]]
        i = j
    out = labeller.finish()
    got += [] if out is None else [out["labels"]]
    np.testing.assert_array_equal(np.concatenate(got), ref)
    assert (ref == 1).sum() > n and (ref == rg.AMBIGUOUS).sum() > 0


def test_ambiguous_labels_pass_through_the_cache(small_genome, tmp_path):
    from seqcnn.data.cache import load_cache, write_cache

    genome, _ = small_genome
    files = {t: str(write_text(tmp_path / f"{t}.bed", f"chr1\t{s}\t{s + 100}\t{t}\n"))
             for t, s in {"A": 1000, "C": 1070}.items()}
    rg.prepare_regions(files, genome, 100, tmp_path / "r.bed")
    stats = write_cache(genome, rg.read_regions(tmp_path / "r.bed", chunksize=1), 2,
                        ["A", "C"], tmp_path / "x.npy", tmp_path / "y.npy", 100)
    _, y = load_cache(tmp_path / "x.npy", tmp_path / "y.npy")
    assert y.tolist() == [[1, 255], [255, 1]]
    assert stats.positives == {"A": 1, "C": 1} and stats.ambiguous == {"A": 1, "C": 1}


def test_region_steps_import_without_torch():
    """envs/regions.yaml has no torch: the modules its rules import must not pull it in."""
    code = ("import sys; import seqcnn.data.regions, seqcnn.data.negatives, "
            "seqcnn.data.split, seqcnn.data.cache; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
