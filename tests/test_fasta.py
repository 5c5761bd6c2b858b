"""seqcnn.data.fasta: reading FASTA records (plain or gzip, multi-line) and its errors."""

import pytest

from conftest import fasta_file as _fasta
from conftest import write_text
from seqcnn.data.fasta import read_fasta
from seqcnn.errors import SeqSetError


def test_fasta_multiline_gzip_and_lowercase(tmp_path):
    recs = {"a": "ACGTACGTACGTAC", "b": "acgtnN", "c": "G" * 30}
    df = read_fasta(_fasta(tmp_path / "x.fa.gz", recs, width=5, gz=True))
    assert list(df["id"]) == ["a", "b", "c"]
    assert list(df["sequence"]) == list(recs.values())
    assert list(df["line"]) == [1, 5, 8]


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
