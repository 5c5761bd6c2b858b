import gzip
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import random_dna, write_fasta
from seqcnn.genome import Genome, base_fractions, chrom_sizes, prepare_fasta


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
