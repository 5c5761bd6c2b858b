"""Promoter windows from GFF3/GTF genes (seqcnn.data.annotation) and rule extract_promoters."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import fasta_file, random_dna, write_text
from seqcnn.data.annotation import (
    check_genes,
    package_file,
    promoter_windows,
    promoters,
    read_genes,
    tss,
)
from seqcnn.data.genome import Genome, chrom_sizes, prepare_fasta
from seqcnn.errors import ConfigError, EmptyTaskError, InputError

GFF = """##gff-version 3
#!genome-build test
chr1\tRefSeq\tregion\t1\t3000\t.\t+\t.\tID=chr1:1..3000
chr1\tRefSeq\tgene\t1001\t1500\t.\t+\t.\tID=gene-A;Name=A;gene_biotype=protein_coding;locus_tag=AT1
chr1\tRefSeq\tmRNA\t1001\t1500\t.\t+\t.\tID=rna-A;Parent=gene-A
chr1\tRefSeq\tgene\t1601\t2000\t.\t-\t.\tID=gene-B;Name=B;gene_biotype=protein_coding;locus_tag=AT2
chr1\tRefSeq\tgene\t2101\t2200\t.\t+\t.\tID=gene-C;gene_biotype=lncRNA
chr1\tRefSeq\tgene\t2301\t2400\t.\t.\t.\tID=gene-D;gene_biotype=protein_coding
chr1\tRefSeq\tgene\t100\t900\t.\t+\t.\tID=gene-E;gene_biotype=protein_coding
chr9\tRefSeq\tgene\t5001\t6000\t.\t+\t.\tID=gene-F;gene_biotype=protein_coding
chr1\tRefSeq\tgene\t1001\t1700\t.\t+\t.\tID=gene-G;gene_biotype=protein_coding
##FASTA
>chr1
ACGT
"""

GTF = """chr1\tsrc\tgene\t1001\t1500\t.\t+\t.\tgene_id "g1"; gene_type "protein_coding";
chr1\tsrc\ttranscript\t1001\t1500\t.\t+\t.\tgene_id "g1"; transcript_id "t1";
chr1\tsrc\tgene\t1601\t2000\t.\t-\t.\tgene_id "g2"; gene_type "lncRNA";
"""


def test_read_genes_gff3_keeps_protein_coding_and_counts_the_rest(tmp_path):
    genes, skipped = read_genes(write_text(tmp_path / "a.gff.gz", GFF, gz=True))
    assert genes["name"].tolist() == ["AT1", "AT2", "gene-E", "gene-F", "gene-G"]
    assert genes.loc[0, ["chrom", "start", "end", "strand"]].tolist() == ["chr1", 1000, 1500, "+"]
    assert genes.loc[1, ["start", "end", "strand"]].tolist() == [1600, 2000, "-"]
    assert skipped == {"biotype lncRNA": 1, "no strand": 1}
    every, skipped = read_genes(tmp_path / "a.gff.gz", biotype=None)
    assert len(every) == 6 and skipped == {"no strand": 1}


def test_read_genes_gtf_reads_gencode_gene_type(tmp_path):
    genes, skipped = read_genes(write_text(tmp_path / "a.gtf", GTF))
    assert genes[["name", "start", "end", "strand", "biotype"]].values.tolist() == [
        ["g1", 1000, 1500, "+", "protein_coding"]]
    assert skipped == {"biotype lncRNA": 1}


def test_tss_and_windows_on_both_strands():
    start, end = np.array([1000, 1600]), np.array([1500, 2000])
    strand = np.array(["+", "-"])
    pos = tss(start, end, strand)
    assert pos.tolist() == [1000, 1999]
    lo, hi = promoter_windows(pos, strand, 250, 50)
    # + : 250 bp before the TSS and 50 from it; - : mirrored (upstream at higher coordinates)
    assert lo.tolist() == [750, 1950] and hi.tolist() == [1050, 2250]


def test_promoters_drop_counted_and_sorted():
    genes = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr9", "chr1", "chr1"],
                          "start": [1600, 1000, 100, 0, 1000, 2700],
                          "end": [2000, 1500, 900, 10, 1700, 2990],
                          "strand": ["-", "+", "+", "+", "+", "-"],
                          "name": list("BAEFGH"), "biotype": "protein_coding"})
    bed, dropped = promoters(genes, {"chr1": 3000}, 250, 50)
    assert bed.values.tolist() == [["chr1", 750, 1050, "A", 0, "+"],
                                   ["chr1", 1950, 2250, "B", 0, "-"]]
    assert dropped == {"chromosome not in the genome": 1, "window off the chromosome end": 2,
                       "same window as another gene": 1}
    inside, dropped = promoters(genes, {"chr1": 3000}, 250, 50, within=["chr1:1-1100"])
    assert inside["name"].tolist() == ["A"]
    assert dropped["window outside promoters.within"] == 1
    with pytest.raises(ConfigError, match="promoters.within: range chr1:1-4000 in within "
                                          "ends past the end of chr1"):
        promoters(genes, {"chr1": 3000}, 250, 50, within=["chr1:1-4000"])
    with pytest.raises(ConfigError, match="upstream 0, downstream 0"):
        promoters(genes, {"chr1": 3000}, 0, 0)


def test_windows_read_on_the_gene_strand_agree(tmp_path):
    """A TATA box planted 30 bp 5' of a + gene's TSS and of a - gene's TSS (on the minus
    strand) sits at the same offset of both oriented windows."""
    rng = np.random.default_rng(0)
    seq = list(random_dna(4000, rng))
    seq[970:976] = "TATAAA"                       # + gene, TSS at 1000: -30
    seq[3024:3030] = "TTTATA"                     # - gene, TSS at 2999: -30 on the minus strand
    genome = fasta_file(tmp_path / "g.fa", {"chr1": "".join(seq)})
    fai = prepare_fasta(genome, tmp_path / "genome.fa")
    genes = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [1000, 2500],
                          "end": [1400, 3000], "strand": ["+", "-"], "name": ["p", "m"],
                          "biotype": "protein_coding"})
    bed, _ = promoters(genes, chrom_sizes(fai), 250, 50)
    g = Genome(tmp_path / "genome.fa")
    rc = str.maketrans("ACGT", "TGCA")
    reads = [g.fetch(r.chrom, r.start, r.end).upper() for r in bed.itertuples()]
    reads = [s if strand == "+" else s.translate(rc)[::-1]
             for s, strand in zip(reads, bed["strand"], strict=True)]
    assert [len(s) for s in reads] == [300, 300]
    assert [s[220:226] for s in reads] == ["TATAAA", "TATAAA"]


def test_bad_rows_and_empty_results_are_errors(tmp_path):
    bad = write_text(tmp_path / "bad.gff", GFF.replace("\t.\tID=gene-D", " .\tID=gene-D"))
    with pytest.raises(InputError, match=r"bad.gff, line 8: 8 tab-separated columns"):
        read_genes(bad)
    coords = write_text(tmp_path / "coords.gff", "chr1\ts\tgene\t10\tx\t.\t+\t.\tID=a\n")
    with pytest.raises(InputError, match="line 1: start '10', end 'x'"):
        read_genes(coords, biotype=None)
    genes, skipped = read_genes(write_text(tmp_path / "a.gtf", GTF), biotype="rRNA")
    with pytest.raises(EmptyTaskError, match=r"biotype 'rRNA' \(biotypes there: "
                                             r"'lncRNA', 'protein_coding'\)"):
        check_genes(genes, skipped, tmp_path / "a.gtf", "rRNA")


def test_package_file(tmp_path):
    assert package_file(None, "x/y.gff") == Path("x/y.gff")
    found = package_file("seqcnn", "data/annotation.py")
    assert found.name == "annotation.py" and found.exists()
    with pytest.raises(ConfigError, match="package 'no_such_pkg_xyz' is not installed"):
        package_file("no_such_pkg_xyz", "a.fa")
    with pytest.raises(ConfigError, match="'nope.fa' is not a file of package seqcnn"):
        package_file("seqcnn", "nope.fa")


@pytest.mark.workflow
def test_rule_extract_promoters(tmp_path):
    from test_workflow import run_snakemake

    rng = np.random.default_rng(1)
    fasta_file(tmp_path / "g.fa.gz", {"chr1": random_dna(3000, rng)}, width=60, gz=True)
    write_text(tmp_path / "a.gff", GFF)
    config = {"promoters": {"tiny": {"genome": str(tmp_path / "g.fa.gz"),
                                     "annotation": str(tmp_path / "a.gff")}},
              "datasets": {"tiny": {"genome": "results/promoters/tiny/genome.fa",
                                    "tasks": {"p": "results/promoters/tiny/promoters.bed.gz"},
                                    "models": ["dilated"]}}}
    run_snakemake(tmp_path, config, "results/promoters/tiny/promoters.bed.gz")
    with gzip.open(tmp_path / "results/promoters/tiny/promoters.bed.gz", "rt") as fh:
        rows = [line.split("\t") for line in fh.read().splitlines()]
    assert rows == [["chr1", "750", "1050", "AT1", "0", "+"],
                    ["chr1", "1950", "2250", "AT2", "0", "-"]]
    log = (tmp_path / "results/logs/promoters/tiny/extract_promoters.log").read_text()
    assert "skipped 1 gene rows: biotype lncRNA" in log
    assert "dropped 1 genes: chromosome not in the genome" in log
    assert "dropped 1 genes: window off the chromosome end" in log
    assert "dropped 1 genes: same window as another gene" in log
    assert (tmp_path / "results/promoters/tiny/genome.fa.fai").read_text().startswith("chr1\t3000")
