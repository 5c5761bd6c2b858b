"""Simulated proteins with secondary structure (helices, strands, coil) and per-residue labels,
and the FASTA + labels TSV a sequence set is read from."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.data.fasta import write_fasta
from seqcnn.errors import ConfigError

#: Kyte & Doolittle (1982) hydropathy, for checks of the simulated periodicities.
KYTE_DOOLITTLE = {
    "A": 1.8, "C": 2.5, "D": -3.5, "E": -3.5, "F": 2.8, "G": -0.4, "H": -3.2, "I": 4.5,
    "K": -3.9, "L": 3.8, "M": 1.9, "N": -3.5, "P": -1.6, "Q": -3.5, "R": -4.5, "S": -0.8,
    "T": -0.7, "V": 4.2, "W": -0.9, "Y": -1.3,
}

# residue pools (letters, weights) per structural environment
_POOLS = {
    "helix_face": ("LIVFMA", (4, 3, 2, 2, 2, 1)),
    "helix_polar": ("EKQRSD", (4, 4, 2, 2, 1, 1)),
    "strand_in": ("VIFLY", (4, 4, 3, 2, 1)),
    "strand_out": ("TSKRNQE", (3, 2, 2, 2, 1, 1, 1)),
    "coil": ("GPNDSTKEQA", (4, 3, 2, 2, 2, 1, 1, 1, 1, 1)),
}


def _pool(name: str) -> tuple[np.ndarray, np.ndarray]:
    chars, w = _POOLS[name]
    p = np.asarray(w, dtype=np.float64)
    return np.frombuffer(chars.encode(), dtype=np.uint8), p / p.sum()


def _segment(kind: str, length: int, rng: np.random.Generator, face: float,
             shared_residues: bool = False) -> np.ndarray:
    """Residues (ASCII codes) of one segment: ``H`` amphipathic helix, ``E`` strand, ``C`` coil.
    ``shared_residues``: strands draw from the helix pools (only the spacing differs)."""
    i = np.arange(length)
    if kind == "H":
        # 100° per residue (3.6 residues per turn); hydrophobic within ±70° of the face
        on_face = np.cos(np.deg2rad(100.0 * i + face)) > np.cos(np.deg2rad(70.0))
        env = np.where(on_face, "helix_face", "helix_polar")
    elif kind == "E":
        inside, outside = (("helix_face", "helix_polar") if shared_residues
                           else ("strand_in", "strand_out"))
        env = np.where((i + int(face)) % 2 == 0, inside, outside)
    else:
        env = np.full(length, "coil")
    out = np.empty(length, dtype=np.uint8)
    for name in np.unique(env):
        chars, p = _pool(str(name))
        sel = env == name
        out[sel] = rng.choice(chars, size=int(sel.sum()), p=p)
    return out


def _architecture(length: int, rng: np.random.Generator, helix_len: tuple[int, int],
                  strand_len: tuple[int, int], coil_len: tuple[int, int], helix_fraction: float
                  ) -> list[tuple[str, int]]:
    """Segments ``(kind, length)`` summing to ``length``: coil, element, coil, element, …"""
    segs: list[tuple[str, int]] = []
    total = 0
    while total < length:
        if not segs or segs[-1][0] != "C":
            kind, (lo, hi) = "C", coil_len
        elif rng.random() < helix_fraction:
            kind, (lo, hi) = "H", helix_len
        else:
            kind, (lo, hi) = "E", strand_len
        n = min(int(rng.integers(lo, hi + 1)), length - total)
        segs.append((kind, n))
        total += n
    return segs


def simulate_secondary_structure(
    n: int,
    rng: np.random.Generator,
    min_len: int = 60,
    max_len: int = 200,
    helix_len: tuple[int, int] = (10, 22),
    strand_len: tuple[int, int] = (4, 10),
    coil_len: tuple[int, int] = (3, 10),
    helix_fraction: float = 0.5,
    noise: float = 0.1,
    family_size: int = 1,
    mutation: float = 0.15,
    shared_residues: bool = False,
    id_prefix: str = "prot",
) -> pd.DataFrame:
    """Protein sequences with per-residue secondary structure ``H``/``E``/``C``.

    - helices (``H``): amphipathic, hydrophobic residues where the helical wheel (100° per
      residue, period 3.6) faces one side: the i, i+3, i+4, i+7 … pattern;
    - strands (``E``): hydrophobic and polar residues alternating (period 2);
    - coils (``C``): G/P/N/D/S-rich loops between elements;

    with a fraction ``noise`` of residues replaced uniformly at random, and lengths uniform in
    ``min_len..max_len``. With ``family_size > 1`` sequences come in families (column
    ``group``) sharing one architecture; members differ at a fraction ``mutation`` of
    positions, re-drawn from the same structural environment (so a random split leaks and a
    group split does not). By default strands have their own residues (V/I/F/L/Y inside,
    T/S/K/R/N/Q/E outside), so composition alone tells them from helices; with
    ``shared_residues`` they draw from the helix pools (L/I/V/F/M/A and E/K/Q/R/S/D), so only
    the spacing of the hydrophobic residues (period 2 versus 3.6) does.

    Returns a DataFrame ``id, sequence, structure, group`` (``structure`` has one character per
    residue).
    """
    if not 1 <= min_len <= max_len:
        raise ConfigError(f"need 1 <= min_len <= max_len, got {min_len}, {max_len}")
    if family_size < 1:
        raise ConfigError(f"family_size must be >= 1, got {family_size}")
    aa = np.frombuffer(b"ACDEFGHIKLMNPQRSTVWY", dtype=np.uint8)
    ids, seqs, structs, groups = [], [], [], []
    n_families = -(-n // family_size)
    width = len(str(max(n - 1, 1)))
    for fam in range(n_families):
        length = int(rng.integers(min_len, max_len + 1))
        segs = _architecture(length, rng, helix_len, strand_len, coil_len, helix_fraction)
        faces = [float(rng.uniform(0, 360)) if k == "H" else float(rng.integers(2))
                 for k, _ in segs]
        labels = "".join(k * m for k, m in segs)
        parent = np.concatenate([_segment(k, m, rng, face, shared_residues)
                                 for (k, m), face in zip(segs, faces, strict=True)])
        for member in range(min(family_size, n - fam * family_size)):
            seq = parent.copy()
            if member:
                redraw = np.concatenate([_segment(k, m, rng, face, shared_residues)
                                         for (k, m), face in zip(segs, faces, strict=True)])
                hit = rng.random(length) < mutation
                seq[hit] = redraw[hit]
            noisy = rng.random(length) < noise
            seq[noisy] = rng.choice(aa, size=int(noisy.sum()))
            ids.append(f"{id_prefix}{len(ids):0{width}d}")
            seqs.append(seq.tobytes().decode())
            structs.append(labels)
            groups.append(f"fam{fam}")
    return pd.DataFrame({"id": ids, "sequence": seqs, "structure": structs, "group": groups})


def write_seqset_files(
    table: pd.DataFrame, fasta_path: str | os.PathLike, labels_path: str | os.PathLike,
    label_columns: Sequence[str] = ("structure", "group"),
) -> tuple[Path, Path]:
    """Write a sequence table (``id``, ``sequence``, labels…) as FASTA + labels TSV.

    Either file is gzipped when its name ends in ``.gz``. The TSV holds ``id`` and
    ``label_columns``, tab-separated.
    """
    fasta = write_fasta(fasta_path, dict(zip(table["id"], table["sequence"], strict=True)))
    labels = Path(labels_path)
    labels.parent.mkdir(parents=True, exist_ok=True)
    table[["id", *label_columns]].to_csv(labels, sep="\t", index=False,
                                         compression={"method": "gzip", "mtime": 0}
                                         if labels.suffix == ".gz" else None)
    return fasta, labels
