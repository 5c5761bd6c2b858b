"""MEME minimal motif format: write and read letter-probability matrices.

The files follow the MEME suite's "minimal MEME format"
(https://meme-suite.org/meme/doc/meme-format.html), readable by MEME-suite Tomtom and
by :func:`memelite.io.read_meme`::

    MEME version 4

    ALPHABET= ACGT

    strands: + -

    Background letter frequencies
    A 0.25 C 0.25 G 0.25 T 0.25

    MOTIF filter0 CTCF
    letter-probability matrix: alength= 4 w= 15 nsites= 212 E= 0
    0.100000 0.300000 0.500000 0.100000
    ...

Matrices here are ``(alphabet, width)`` (letters in rows, as in PyTorch); the file stores
their transpose, one position per line. The ``strands`` line is written for nucleic acids
only. memelite's reader handles 4-letter alphabets only; :func:`read_meme` reads any.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from seqcnn.alphabet import ALPHABETS


class MemeMotifs(NamedTuple):
    """What :func:`read_meme` returns.

    ``motifs``: name → probability matrix ``(alphabet, width)`` float64, in file order;
    ``nsites``: name → number of sites (0 when the file gives none);
    ``alphabet``: the letters, e.g. ``"ACGT"``.
    """

    motifs: dict[str, np.ndarray]
    nsites: dict[str, int]
    alphabet: str


def _alphabet_letters(alphabet: str) -> str:
    return ALPHABETS.get(alphabet, alphabet)


def write_meme(
    path: str | os.PathLike,
    motifs: Mapping[str, np.ndarray],
    alphabet: str = "dna",
    nsites: Mapping[str, int] | Sequence[int] | None = None,
    background: np.ndarray | None = None,
    alt_names: Mapping[str, str] | None = None,
    decimals: int = 6,
) -> None:
    """Write probability matrices ``name → (A, w)`` as a MEME minimal-format file.

    ``alphabet`` is a name from :data:`seqcnn.alphabet.ALPHABETS` (``dna``, ``rna``,
    ``protein``) or the letters themselves. ``nsites`` (per motif, by name or in order) goes
    to each matrix line (default 20, MEME's convention for "unknown"). ``background``
    ``(A,)`` defaults to uniform. ``alt_names`` adds a second word to ``MOTIF`` lines. Columns
    are renormalised to sum to 1 after rounding to ``decimals``; zero-width motifs and names
    with whitespace raise ``ValueError``.
    """
    letters = _alphabet_letters(alphabet)
    size = len(letters)
    names = list(motifs)
    if isinstance(nsites, Mapping):
        sites = [int(nsites.get(n, 20)) for n in names]
    elif nsites is not None:
        sites = [int(s) for s in nsites]
        if len(sites) != len(names):
            raise ValueError(f"{len(sites)} nsites for {len(names)} motifs")
    else:
        sites = [20] * len(names)
    bg = np.full(size, 1.0 / size) if background is None else np.asarray(background, float)
    if bg.shape != (size,):
        raise ValueError(f"background has shape {bg.shape}, expected ({size},)")
    fmt = f"{{:.{decimals}f}}"
    lines = ["MEME version 4", "", f"ALPHABET= {letters}", ""]
    if size == 4:
        lines += ["strands: + -", ""]
    lines += [
        "Background letter frequencies",
        " ".join(f"{c} {fmt.format(p)}" for c, p in zip(letters, bg, strict=True)),
        "",
    ]
    for name, n in zip(names, sites, strict=True):
        if not name or re.search(r"\s", name):
            raise ValueError(f"motif name {name!r} is empty or has whitespace")
        pwm = np.asarray(motifs[name], dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[0] != size or pwm.shape[1] == 0:
            raise ValueError(f"motif {name!r} has shape {pwm.shape}, expected ({size}, w > 0)")
        col = np.clip(pwm, 0, None)
        total = col.sum(axis=0, keepdims=True)
        col = np.where(total > 0, col / np.where(total > 0, total, 1), 1.0 / size)
        alt = f" {alt_names[name]}" if alt_names and alt_names.get(name) else ""
        lines.append(f"MOTIF {name}{alt}")
        lines.append(
            f"letter-probability matrix: alength= {size} w= {pwm.shape[1]} nsites= {n} E= 0"
        )
        lines += [" ".join(fmt.format(v) for v in row) for row in col.T]
        lines.append("")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def read_meme(path: str | os.PathLike) -> MemeMotifs:
    """Read a MEME (minimal or full) motif file: :class:`MemeMotifs`.

    The motif name is the first word after ``MOTIF``; matrices are ``(A, w)`` float64.
    Any alphabet given on an ``ALPHABET=`` line is accepted (default ``ACGT``).
    """
    motifs: dict[str, np.ndarray] = {}
    nsites: dict[str, int] = {}
    letters = "ACGT"
    name: str | None = None
    width = 0
    rows: list[list[float]] = []
    with open(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if line.startswith("ALPHABET="):
                letters = line.split("=", 1)[1].strip().split()[0]
            elif line.startswith("MOTIF"):
                parts = line.split()
                if len(parts) < 2:
                    raise ValueError(f"{path}:{lineno}: MOTIF line without a name")
                name, width, rows = parts[1], 0, []
            elif name is not None and line.startswith("letter-probability"):
                w = re.search(r"\bw=\s*(\d+)", line)
                if w is None:
                    raise ValueError(f"{path}:{lineno}: letter-probability line without w=")
                width = int(w.group(1))
                s = re.search(r"\bnsites=\s*([\d.eE+]+)", line)
                nsites[name] = int(float(s.group(1))) if s else 0
            elif name is not None and width and line:
                rows.append([float(v) for v in line.split()])
                if len(rows[-1]) != len(letters):
                    raise ValueError(
                        f"{path}:{lineno}: {len(rows[-1])} values, expected {len(letters)}"
                    )
                if len(rows) == width:
                    motifs[name] = np.array(rows, dtype=np.float64).T
                    name, width, rows = None, 0, []
    return MemeMotifs(motifs, nsites, letters)
