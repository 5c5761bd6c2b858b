"""Alphabets, one-hot encoding and reverse complement.

Orders are fixed and public:

- DNA: ``ACGT``
- RNA: ``ACGU``
- protein: ``ACDEFGHIKLMNPQRSTVWY`` (the 20 standard amino acids, alphabetical by
  one-letter code, as in most protein one-hot encodings)

Letters outside the alphabet (N, IUPAC ambiguity codes, X, gaps) encode as all zeros.
Lowercase (soft-masked) letters encode as their uppercase letter.
One-hot arrays are ``uint8`` with shape ``(alphabet, length)`` for one sequence and
``(n, alphabet, length)`` for a batch: channels first, as PyTorch's ``Conv1d`` expects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHABETS: dict[str, str] = {
    "dna": "ACGT",
    "rna": "ACGU",
    "protein": "ACDEFGHIKLMNPQRSTVWY",
}

#: Complement pairs for the nucleic-acid alphabets (index i pairs with index 3 - i).
_COMPLEMENT = {"dna": str.maketrans("ACGTacgtNn", "TGCAtgcaNn"),
               "rna": str.maketrans("ACGUacguNn", "UGCAugcaNn")}

#: Code used for letters outside the alphabet in integer-encoded sequences.
UNKNOWN = 255


def letters(alphabet: str) -> str:
    """The letters of ``alphabet`` (``dna``, ``rna`` or ``protein``) in one-hot order."""
    try:
        return ALPHABETS[alphabet]
    except KeyError:
        raise ValueError(
            f"unknown alphabet {alphabet!r}; choose one of {', '.join(ALPHABETS)}"
        ) from None


def lookup_table(alphabet: str) -> np.ndarray:
    """A 256-entry ``uint8`` table from ASCII byte to letter index (``UNKNOWN`` elsewhere).

    Upper- and lowercase map alike; for DNA, ``U`` is not accepted (and for RNA, not ``T``).
    """
    table = np.full(256, UNKNOWN, dtype=np.uint8)
    for i, ch in enumerate(letters(alphabet)):
        table[ord(ch)] = i
        table[ord(ch.lower())] = i
    return table


def encode(seqs: np.ndarray, alphabet: str = "dna") -> np.ndarray:
    """Integer-encode ASCII bytes: ``uint8`` array of any shape → letter indices, same shape.

    Letters outside the alphabet become ``UNKNOWN`` (255).
    """
    return lookup_table(alphabet)[np.asarray(seqs, dtype=np.uint8)]


def one_hot_codes(codes: np.ndarray, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """One-hot integer codes ``(..., L)`` → ``uint8`` ``(..., size, L)``; codes ≥ size → zeros."""
    codes = np.asarray(codes)
    shape = codes.shape[:-1] + (size, codes.shape[-1])
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8:
        raise ValueError(f"out has shape {out.shape} {out.dtype}, expected {shape} uint8")
    for i in range(size):
        np.equal(codes, i, out=out[..., i, :].view(bool))
    return out


def one_hot(seq: str | bytes, alphabet: str = "dna") -> np.ndarray:
    """One-hot encode one sequence: ``str`` of length L → ``uint8`` ``(alphabet, L)``."""
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    codes = encode(np.frombuffer(seq, dtype=np.uint8), alphabet)
    return one_hot_codes(codes, len(letters(alphabet)))


def one_hot_batch(
    seqs: Sequence[str | bytes], alphabet: str = "dna", length: int | None = None
) -> np.ndarray:
    """One-hot encode sequences into ``uint8`` ``(n, alphabet, length)``.

    ``length`` defaults to the longest sequence; shorter ones are padded with zeros at the
    end, longer ones raise ``ValueError`` (crop them first: silent cropping loses data).
    """
    size = len(letters(alphabet))
    if length is None:
        length = max((len(s) for s in seqs), default=0)
    out = np.zeros((len(seqs), size, length), dtype=np.uint8)
    for i, s in enumerate(seqs):
        if len(s) > length:
            raise ValueError(f"sequence {i} has length {len(s)} > length={length}")
        out[i, :, : len(s)] = one_hot(s, alphabet)
    return out


def decode(onehot: np.ndarray, alphabet: str = "dna", unknown: str = "N") -> str:
    """One-hot ``(alphabet, L)`` → string; all-zero columns become ``unknown``."""
    onehot = np.asarray(onehot)
    chars = np.array(list(letters(alphabet) + unknown))
    idx = np.where(onehot.any(axis=0), onehot.argmax(axis=0), len(chars) - 1)
    return "".join(chars[idx])


def reverse_complement(onehot: np.ndarray, alphabet: str = "dna") -> np.ndarray:
    """Reverse complement of one-hot nucleic acids, ``(..., 4, L)`` → ``(..., 4, L)``.

    With ACGT/ACGU order the complement is the channel flip, so this is a flip of the
    last two axes. Works on numpy arrays and (via ``flip``) torch tensors.
    """
    if alphabet not in _COMPLEMENT:
        raise ValueError(f"reverse complement is defined for dna and rna, not {alphabet!r}")
    if hasattr(onehot, "flip"):  # torch.Tensor
        return onehot.flip(dims=(-2, -1))
    return np.ascontiguousarray(np.asarray(onehot)[..., ::-1, ::-1])


def reverse_complement_seq(seq: str, alphabet: str = "dna") -> str:
    """Reverse complement of a nucleic-acid string; case is kept, other letters become N."""
    if alphabet not in _COMPLEMENT:
        raise ValueError(f"reverse complement is defined for dna and rna, not {alphabet!r}")
    table = _COMPLEMENT[alphabet]
    valid = set("ACGTUNacgtun")
    cleaned = "".join(c if c in valid else "N" for c in seq)
    return cleaned.translate(table)[::-1]
