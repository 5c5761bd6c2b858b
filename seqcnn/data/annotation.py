"""Promoter windows from a gene annotation: GFF3 or GTF genes → TSS → oriented BED6.

Coordinates inside are 0-based, half-open (BED); GFF/GTF columns 4-5 are 1-based and
inclusive. A gene's TSS is its 5' end: ``start`` on ``+``, ``end - 1`` on ``-``. Its promoter
window runs ``upstream`` bp 5' of the TSS and ``downstream`` bp from the TSS on (the TSS
included), read on the gene's strand, so every window is ``upstream + downstream`` bp.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.data.genome import open_text
from seqcnn.data.split import parse_span
from seqcnn.errors import ConfigError, EmptyTaskError, InputError, examples

#: Attribute keys that carry a gene's biotype: NCBI GFF3 and Ensembl GTF, Ensembl GFF3,
#: GENCODE.
BIOTYPE_KEYS = ("gene_biotype", "biotype", "gene_type")
#: Attribute keys tried, in order, for a gene's name in the BED.
NAME_KEYS = ("locus_tag", "gene_id", "Name", "ID", "gene_name")
GENE_COLUMNS = ["chrom", "start", "end", "strand", "name", "biotype"]
_GTF_PAIR = re.compile(r'\s*([^\s;]+)\s+"?([^";]*)"?\s*')


def _attributes(text: str, gtf: bool) -> dict[str, str]:
    """Column 9 as a dict: GTF ``key "value";`` pairs or GFF3 ``key=value;`` pairs."""
    out = {}
    for part in text.strip().split(";"):
        if not part.strip():
            continue
        if gtf:
            m = _GTF_PAIR.fullmatch(part)
            if m:
                out.setdefault(m[1], m[2])
        elif "=" in part:
            key, value = part.split("=", 1)
            out.setdefault(key.strip(), value.strip())
    return out


def read_genes(path: str | os.PathLike, biotype: str | None = "protein_coding",
               feature: str = "gene") -> tuple[pd.DataFrame, Counter]:
    """Rows of type ``feature`` in a GFF3 or GTF file (plain or gzip) whose biotype is
    ``biotype`` (``None``: any).

    Returns the genes (:data:`GENE_COLUMNS`; ``start``/``end`` 0-based half-open) and the
    count of skipped ``feature`` rows per reason (``biotype <x>``, ``no strand``). GTF is
    told from GFF3 by its attributes (``key "value"``). Raises :class:`InputError` naming the
    file and line for a row without 9 tab-separated columns or with bad coordinates.
    """
    rows: list[tuple] = []
    skipped: Counter = Counter()
    gtf: bool | None = None
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, 1):
            if line.startswith("##FASTA"):
                break
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n\r").split("\t")
            if len(cols) != 9:
                raise InputError(
                    f"{path}, line {line_no}: {len(cols)} tab-separated columns where GFF3/GTF "
                    "has 9 (seqid, source, type, start, end, score, strand, phase, "
                    "attributes); fix the line or give a GFF3/GTF file")
            if cols[2] != feature:
                continue
            if gtf is None:
                gtf = bool(re.match(r'\s*[^\s=;]+\s+"', cols[8]))
            attrs = _attributes(cols[8], gtf)
            kind = next((attrs[k] for k in BIOTYPE_KEYS if k in attrs), "none")
            if biotype is not None and kind != biotype:
                skipped[f"biotype {kind}"] += 1
                continue
            if cols[6] not in ("+", "-"):
                skipped["no strand"] += 1
                continue
            try:
                start, end = int(cols[3]) - 1, int(cols[4])
            except ValueError:
                start, end = -1, -1
            if start < 0 or end <= start:
                raise InputError(
                    f"{path}, line {line_no}: start {cols[3]!r}, end {cols[4]!r} are not "
                    "1-based coordinates with start ≤ end; fix the line")
            name = next((attrs[k] for k in NAME_KEYS if k in attrs), f"line{line_no}")
            rows.append((cols[0], start, end, cols[6], name, kind))
    genes = pd.DataFrame(rows, columns=GENE_COLUMNS)
    genes[["start", "end"]] = genes[["start", "end"]].astype(np.int64)
    return genes, skipped


def tss(start: np.ndarray, end: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """0-based TSS per gene, shape (N,): ``start`` on ``+``, ``end - 1`` on ``-``."""
    return np.where(np.asarray(strand) == "-", np.asarray(end) - 1, np.asarray(start))


def promoter_windows(tss_pos: np.ndarray, strand: np.ndarray, upstream: int,
                     downstream: int) -> tuple[np.ndarray, np.ndarray]:
    """BED ``start, end`` (each shape (N,)) of the window ``upstream`` bp 5' of each TSS to
    ``downstream`` bp 3' of it (TSS included) on the gene's strand."""
    tss_pos = np.asarray(tss_pos, dtype=np.int64)
    minus = np.asarray(strand) == "-"
    start = np.where(minus, tss_pos - downstream + 1, tss_pos - upstream)
    return start, start + upstream + downstream


def promoters(genes: pd.DataFrame, sizes: dict[str, int], upstream: int = 250,
              downstream: int = 50, within: Sequence[str] | None = None
              ) -> tuple[pd.DataFrame, Counter]:
    """Oriented BED6 promoter windows of ``genes`` (from :func:`read_genes`), sorted.

    ``sizes`` maps the genome's chromosomes to lengths (bp). Drops, counted per reason:
    genes on a chromosome not in the genome, windows that run off a chromosome end, windows
    not wholly inside one of ``within`` (chromosome names or 1-based ``chrom:start-end``
    ranges; ``None``: anywhere), and windows identical to an earlier one (same chrom, start,
    end, strand). Raises :class:`ConfigError` for a window of no length or a bad range.
    """
    if upstream < 0 or downstream < 0 or upstream + downstream < 1:
        raise ConfigError(f"promoters: upstream {upstream}, downstream {downstream}: both "
                          "must be ≥ 0 with a sum ≥ 1 (the window length in bp)")
    dropped: Counter = Counter()
    on_genome = genes["chrom"].isin(list(sizes)).to_numpy()
    if (~on_genome).any():
        dropped["chromosome not in the genome"] = int((~on_genome).sum())
    g = genes[on_genome]
    start, end = promoter_windows(tss(g["start"].to_numpy(), g["end"].to_numpy(),
                                      g["strand"].to_numpy()),
                                  g["strand"].to_numpy(), upstream, downstream)
    length = g["chrom"].map(sizes).to_numpy(dtype=np.int64)
    inside = (start >= 0) & (end <= length)
    if (~inside).any():
        dropped["window off the chromosome end"] = int((~inside).sum())
    bed = pd.DataFrame({"chrom": g["chrom"].to_numpy(), "start": start, "end": end,
                        "name": g["name"].to_numpy(), "score": 0,
                        "strand": g["strand"].to_numpy()})[inside]
    order = {c: i for i, c in enumerate(sizes)}
    bed = bed.assign(_rank=bed["chrom"].map(order)).sort_values(
        ["_rank", "start", "end", "strand"], kind="stable").drop(columns="_rank")
    if within is not None:
        spans = [parse_span(text, "within", sizes, "promoters.within") for text in within]
        keep = np.zeros(len(bed), bool)
        for s in spans:
            keep |= ((bed["chrom"] == s.chrom) & (bed["start"] >= s.start)
                     & (bed["end"] <= s.end)).to_numpy()
        if (~keep).any():
            dropped["window outside promoters.within"] = int((~keep).sum())
        bed = bed[keep]
    dup = bed.duplicated(["chrom", "start", "end", "strand"]).to_numpy()
    if dup.any():
        dropped["same window as another gene"] = int(dup.sum())
    return bed[~dup].reset_index(drop=True), dropped


def check_genes(genes: pd.DataFrame, skipped: Counter, path: str | os.PathLike,
                biotype: str | None) -> None:
    """:class:`EmptyTaskError` naming ``path`` when no gene was kept, with the biotypes seen."""
    if len(genes):
        return
    seen = sorted(k.removeprefix("biotype ") for k in skipped if k.startswith("biotype "))
    raise EmptyTaskError(
        f"{path}: no gene rows with biotype {biotype!r} (biotypes there: "
        f"{examples(seen) or 'none'}); set promoters: biotype to one of them, or null for all")


def package_file(package: str | None, path: str) -> Path:
    """``path`` inside the installed ``package`` (found without importing it), or ``path``
    itself when ``package`` is ``None``. Raises :class:`ConfigError` naming the fix."""
    if package is None:
        return Path(path)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"promoters: package {package!r} is not installed; install it with "
            f"`pip install -r requirements.txt` (make setup does), or set package: null and "
            "give file paths")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = root / path
    if not found.exists():
        have = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                      if p.is_file() and not p.name.endswith((".py", ".pyc")))
        raise ConfigError(f"promoters: {path!r} is not a file of package {package} "
                          f"({root}); files there: {examples(have)}")
    return found


def write_bed6(bed: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write BED6 rows (chrom, start, end, name, score, strand), gzip when ``.gz``."""
    bed[["chrom", "start", "end", "name", "score", "strand"]].to_csv(
        path, sep="\t", header=False, index=False)
