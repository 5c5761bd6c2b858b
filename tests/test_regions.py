
import numpy as np
import pandas as pd
import pytest

from conftest import write_text
from seqcnn import regions as rg
from seqcnn.regions import BedFormatError, RegionDropError


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
    from seqcnn.cache import encode_regions

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
