import gzip
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import random_dna
from seqcnn.data.fasta import write_fasta
from seqcnn.data.genome import Genome, base_fractions, chrom_sizes, prepare_fasta


@pytest.mark.parametrize("width", [7, 60, 1000])
def test_extraction_matches_the_sequence(tmp_path, rng, width):
    chroms = {"a": random_dna(997, rng), "b": random_dna(50, rng).lower() + "NNNN"}
    write_fasta(tmp_path / "g.fa", chroms, width=width)
    fai = prepare_fasta(tmp_path / "g.fa", tmp_path / "out" / "g.fa")
    assert chrom_sizes(fai) == {"a": 997, "b": 54}
    g = Genome(tmp_path / "out" / "g.fa")
    assert g.fetch("a", 0, 997) == chroms["a"]
    assert g.fetch("b", 0, 54) == chroms["b"]
    starts = np.array([0, 13, 500, 987])
    w = g.windows("a", starts, 10)
    assert [bytes(r).decode() for r in w] == [chroms["a"][s:s + 10] for s in starts]
    with pytest.raises(ValueError, match="window outside a"):
        g.windows("a", [990], 10)


def test_gzip_and_bgzip_genomes(tmp_path, rng):
    chroms = {"c1": random_dna(300, rng)}
    plain = write_fasta(tmp_path / "g.fa", chroms)
    with open(plain, "rb") as fin, gzip.open(tmp_path / "g.fa.gz", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    prepare_fasta(tmp_path / "g.fa.gz", tmp_path / "o1" / "g.fa")
    assert Genome(tmp_path / "o1" / "g.fa").fetch("c1", 0, 300) == chroms["c1"]
    if shutil.which("bgzip"):
        subprocess.run(["bgzip", "-k", "-c", str(plain)], check=True,
                       stdout=open(tmp_path / "g.bgz.fa.gz", "wb"))
        prepare_fasta(tmp_path / "g.bgz.fa.gz", tmp_path / "o2" / "g.fa")
        assert Genome(tmp_path / "o2" / "g.fa").fetch("c1", 0, 300) == chroms["c1"]


def test_not_a_fasta(tmp_path):
    (tmp_path / "x.fa").write_text("hello\n")
    with pytest.raises(ValueError, match="not a FASTA"):
        prepare_fasta(tmp_path / "x.fa", tmp_path / "o" / "x.fa")
    with pytest.raises(FileNotFoundError, match="genome FASTA not found"):
        prepare_fasta(tmp_path / "missing.fa", tmp_path / "o" / "y.fa")


def test_base_fractions(small_genome):
    genome, chroms = small_genome
    df = pd.DataFrame({"chrom": ["chr1", "chr3", "chr3"], "start": [0, 0, 400],
                       "end": [100, 100, 600]})
    gc, nfrac = base_fractions(genome, df)
    s = chroms["chr1"][:100]
    assert gc[0] == pytest.approx((s.count("G") + s.count("C")) / 100)
    assert nfrac.tolist()[:2] == [0.0, 1.0]
    assert np.isnan(gc[1])
    assert nfrac[2] == pytest.approx(0.5)


@pytest.mark.parametrize("gz", [False, True])
def test_duplicate_fasta_names_are_an_error(tmp_path, rng, gz):
    from seqcnn.errors import InputError

    chroms = [("chr1", random_dna(100, rng)), ("chr2", random_dna(80, rng)),
              ("chr1 second copy", random_dna(90, rng)), ("chr2", random_dna(10, rng))]
    text = "".join(f">{n}\n{s}\n" for n, s in chroms)
    src = tmp_path / ("g.fa.gz" if gz else "g.fa")
    if gz:
        with gzip.open(src, "wt") as fh:
            fh.write(text)
    else:
        src.write_text(text)
    with pytest.raises(InputError) as err:
        prepare_fasta(src, tmp_path / "o" / "g.fa")
    msg = str(err.value)
    assert str(src) in msg and "duplicated" in msg and "'chr1' (2 times)" in msg
    assert "'chr2' (2 times)" in msg


def test_duplicate_names_in_an_index(tmp_path, rng):
    from seqcnn.errors import InputError

    write_fasta(tmp_path / "g.fa", {"a": random_dna(50, rng)})
    (tmp_path / "g.fa.fai").write_text("a\t50\t3\t50\t51\na\t50\t3\t50\t51\n")
    with pytest.raises(InputError, match=r"g.fa.fai: duplicated sequence name.*'a'"):
        Genome(tmp_path / "g.fa")


def test_truncated_gzip_fasta_names_the_file(tmp_path, rng):
    from seqcnn.data.genome import open_text
    from seqcnn.errors import InputError

    plain = write_fasta(tmp_path / "g.fa", {"c1": random_dna(200_000, rng)})
    with open(plain, "rb") as fin, gzip.open(tmp_path / "g.fa.gz", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    data = (tmp_path / "g.fa.gz").read_bytes()
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut.fa.gz: truncated or corrupt gzip.*"
                                         r"re-download or re-compress"):
        prepare_fasta(cut, tmp_path / "o" / "g.fa")
    with pytest.raises(InputError, match=r"cut.fa.gz: truncated or corrupt gzip"):
        with open_text(cut) as fh:
            fh.read()
    bad = tmp_path / "bad.fa.gz"
    bad.write_bytes(data[:20] + b"\x00" * 100 + data[120:])
    with pytest.raises(InputError, match=r"bad.fa.gz: truncated or corrupt gzip"):
        prepare_fasta(bad, tmp_path / "o2" / "g.fa")
