"""Periodicity of filters: the Fourier spectrum of a per-position profile, its dominant period.

The profile of a filter ``(A, k)`` is one number per position:

- protein: its hydrophobicity, ``sum_a w[a, l] · h[a]`` with ``h`` a hydrophobicity scale
  (:data:`SCALES`; default Eisenberg's normalised consensus scale, made for hydrophobic
  moments). For a PPM this is the expected hydrophobicity of the residue at ``l``; for raw
  weights, the filter's response to hydrophobicity. An amphipathic α-helix alternates every
  3.6 residues (100° per residue), a β-strand every 2.
- DNA/RNA: its information content (bits) as a PPM: a 10–11 bp period is the helical turn
  (nucleosome positioning, phased A-tracts). Pass a PPM (:func:`seqcnn.interpret.filters.
  activation_pwms`); raw weights are turned into a PPM by a softmax over the alphabet.

The spectrum is the power ``|sum_l (x_l - mean) e^{-2πi f l}|²`` of the mean-removed profile
on a fine frequency grid (a zero-padded DFT; frequencies in cycles per position), from
``1 / max_period`` to the Nyquist frequency 0.5 (period 2). Periods are in positions
(residues or bases).
"""

from __future__ import annotations

import numpy as np

from seqcnn.alphabet import letters

#: Hydrophobicity scales over the 20 amino acids (one-letter codes).
#: ``kyte_doolittle``: Kyte & Doolittle 1982, J. Mol. Biol. 157:105.
#: ``eisenberg``: Eisenberg et al. 1984 normalised consensus, J. Mol. Biol. 179:125.
SCALES: dict[str, dict[str, float]] = {
    "kyte_doolittle": {
        "A": 1.8, "R": -4.5, "N": -3.5, "D": -3.5, "C": 2.5, "Q": -3.5, "E": -3.5,
        "G": -0.4, "H": -3.2, "I": 4.5, "L": 3.8, "K": -3.9, "M": 1.9, "F": 2.8,
        "P": -1.6, "S": -0.8, "T": -0.7, "W": -0.9, "Y": -1.3, "V": 4.2,
    },
    "eisenberg": {
        "A": 0.62, "R": -2.53, "N": -0.78, "D": -0.90, "C": 0.29, "Q": -0.85, "E": -0.74,
        "G": 0.48, "H": -0.40, "I": 1.38, "L": 1.06, "K": -1.50, "M": 0.64, "F": 1.19,
        "P": 0.12, "S": -0.18, "T": -0.05, "W": 0.81, "Y": 0.26, "V": 1.08,
    },
}


#: Period bands (positions, open interval) of the textbook protein patterns: an amphipathic
#: α-helix (3.6 residues per turn) and a β-strand (alternating, 2).
PERIOD_BANDS: dict[str, tuple[float, float]] = {"helix": (3.3, 3.9), "strand": (1.9, 2.1)}


def band_fraction(periods: np.ndarray, band: tuple[float, float]) -> float:
    """Fraction of filters whose dominant period ``(F,)`` lies inside ``band`` (open); NaN
    periods count as outside. Random Gaussian 20 × 15 protein filters give about 0.12 for
    either band of :data:`PERIOD_BANDS`."""
    periods = np.asarray(periods, dtype=np.float64)
    if not len(periods):
        return float("nan")
    lo, hi = band
    return float(np.mean((periods > lo) & (periods < hi)))


def hydrophobicity(scale: str = "eisenberg", alphabet: str = "protein") -> np.ndarray:
    """The scale as a vector ``(20,)`` in the alphabet's one-hot order."""
    try:
        table = SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}") from None
    return np.array([table[c] for c in letters(alphabet)])


def position_profile(
    matrix: np.ndarray, alphabet: str = "protein", scale: str = "eisenberg"
) -> np.ndarray:
    """Per-position profile ``(..., A, k)`` → ``(..., k)``: hydrophobicity (protein) or
    information content in bits (DNA/RNA; non-PPM input goes through a softmax first)."""
    m = np.asarray(matrix, dtype=np.float64)
    if alphabet == "protein":
        return np.einsum("...al,a->...l", m, hydrophobicity(scale, alphabet))
    from seqcnn.interpret.filters import information_content

    is_ppm = (m >= 0).all() and np.allclose(m.sum(axis=-2), 1.0, atol=1e-3)
    if not is_ppm:
        e = np.exp(m - m.max(axis=-2, keepdims=True))
        m = e / e.sum(axis=-2, keepdims=True)
    return information_content(m)


def spectrum(
    profile: np.ndarray, min_period: float = 2.0, max_period: float | None = None,
    n_freq: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of profiles ``(..., k)``: ``(periods (n,), power (..., n))``.

    Frequencies run from ``1 / max_period`` (default ``k / 2``: at least two cycles) to
    ``1 / min_period`` on ``n_freq`` evenly spaced points; periods are their inverses.
    """
    x = np.asarray(profile, dtype=np.float64)
    k = x.shape[-1]
    max_period = k / 2 if max_period is None else max_period
    if not 0 < min_period <= max_period:
        raise ValueError(f"need 0 < min_period <= max_period, got {min_period}, {max_period}")
    freqs = np.linspace(1.0 / max_period, 1.0 / min_period, n_freq)
    x = x - x.mean(axis=-1, keepdims=True)
    basis = np.exp(-2j * np.pi * np.outer(np.arange(k), freqs))  # (k, n)
    power = np.abs(x @ basis) ** 2
    return 1.0 / freqs, power


def dominant_period(
    profile: np.ndarray, min_period: float = 2.0, max_period: float | None = None
) -> np.ndarray:
    """Period (positions) of the spectral peak of each profile: ``(..., k)`` → ``(...)``.

    ``nan`` for a flat profile.
    """
    periods, power = spectrum(profile, min_period, max_period)
    best = periods[power.argmax(axis=-1)]
    flat = power.max(axis=-1) <= 1e-12
    return np.where(flat, np.nan, best)


def filter_periods(
    matrices: np.ndarray,
    alphabet: str = "protein",
    scale: str = "eisenberg",
    min_period: float = 2.0,
    max_period: float | None = None,
) -> np.ndarray:
    """Dominant period of each filter ``(F, A, k)`` → ``(F,)`` (see module docstring)."""
    return dominant_period(position_profile(matrices, alphabet, scale), min_period, max_period)
