"""The one-hot tensor cache: streamed to ``.npy`` in chunks, memory-mapped when read.

``{split}.onehot.npy`` is ``uint8`` ``(N, alphabet, seq_len)`` and ``{split}.labels.npy``
``uint8`` ``(N, tasks)``, rows in the order of ``regions/{split}.bed``; ``{split}.ids.tsv``
names each row (``id``, ``length``: the region id as predictions.tsv.gz writes it). All are
written to a temporary file beside the target and renamed at the end, so a killed job never
leaves a file that looks complete; a SHA-256 of each array is computed while writing.
Peak memory is one chunk plus one chromosome, whatever the number of regions.

One contract after the cache, for genome datasets and sequence sets alike:
:func:`load_split` memory-maps a split (sequence sets add ``{split}.lengths.npy``) and
:func:`validate_manifest` checks ``manifest.json`` against the one schema
(:data:`MANIFEST_KEYS`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn.alphabet import UNKNOWN, letters, lookup_table, one_hot_codes
from seqcnn.data import SPLITS
from seqcnn.data.genome import Genome
from seqcnn.errors import ConfigError, InputError

#: Label code for "no label here": padded positions of per-position labels and ambiguous
#: regions of a binary task (the loss's ``ignore_index``). Defined here, beside the label
#: layout, so that modules without torch (regions, metrics) can use it.
IGNORE = 255

#: Dataset kinds: intervals on a genome, or a set of sequences (FASTA + labels).
KINDS = ("genome", "seqset")
#: Version of the manifest schema (1: one schema per kind; 2: one for both).
MANIFEST_SCHEMA = 2
#: Keys every ``manifest.json`` holds, whatever its kind (:func:`validate_manifest`).
MANIFEST_KEYS = ("schema", "dataset", "seqcnn_version", "kind", "source", "alphabet",
                 "letters", "seq_len", "tasks", "targets", "layout", "counts", "drops",
                 "checksums")


#: Strand codes of a region (BED column 6): forward, reverse, none.
STRANDS = ("+", "-", ".")
#: Values of a dataset's ``oriented`` config key.
ORIENTED = ("auto", True, False)


class ManifestError(InputError):
    """A cache directory or manifest that does not follow the one cache contract."""


class NpyWriter:
    """Write a ``.npy`` array of known shape chunk by chunk along axis 0.

    Use as a context manager: data goes to ``path + '.tmp'``; on a clean exit the file is
    checked for completeness and renamed to ``path``; on an exception it is deleted.
    ``sha256`` holds the hex digest of the final file's bytes.
    """

    def __init__(self, path: str | os.PathLike, shape: tuple[int, ...], dtype=np.uint8):
        self.path = Path(path)
        self.tmp = Path(str(self.path) + ".tmp")
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.sha256 = ""
        self._hash = hashlib.sha256()

    def __enter__(self) -> NpyWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {
            "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
            "shape": self.shape,
        })
        self._fh = open(self.tmp, "wb")
        self._fh.write(header.getvalue())
        self._hash.update(header.getvalue())
        return self

    def write(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
        if chunk.shape[1:] != self.shape[1:]:
            raise ValueError(f"chunk shape {chunk.shape} does not fit {self.shape}")
        if self.rows + len(chunk) > self.shape[0]:
            raise ValueError(f"more than {self.shape[0]} rows written to {self.path}")
        buf = memoryview(chunk).cast("B")
        self._fh.write(buf)
        self._hash.update(buf)
        self.rows += len(chunk)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._fh.close()
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
            return
        if self.rows != self.shape[0]:
            self.tmp.unlink(missing_ok=True)
            raise RuntimeError(f"{self.path}: wrote {self.rows} of {self.shape[0]} rows")
        os.replace(self.tmp, self.path)
        self.sha256 = self._hash.hexdigest()


def _seed(chrom: str, start: int, copy: int, seed: int) -> int:
    return zlib.crc32(f"{chrom}:{start}:{copy}:{seed}".encode())


def dinucleotide_shuffle_codes(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dinucleotide-preserving shuffle of one integer-coded sequence ``(L,)`` → ``(L,)``.

    Altschul–Erickson: a random Eulerian path through the dinucleotide graph that keeps
    the first and last letters, so every dinucleotide count is preserved exactly. Codes
    outside 0..3 (N) are treated as a fifth letter and shuffled along.
    """
    codes = np.asarray(codes)
    n = len(codes)
    if n < 3:
        return codes.copy()
    symbols = np.unique(codes)
    last = codes[-1]
    # edges: for each letter, the list of successors in order of occurrence
    succ = {int(s): list(codes[1:][codes[:-1] == s]) for s in symbols}
    # random last-edge tree rooted at the final letter (Wilson-style via random walks)
    last_edge: dict[int, int] = {}
    in_tree = {int(last)}
    for s in map(int, symbols):
        if not succ[s] and s != last:
            continue
        u = s
        path = {}
        while u not in in_tree:
            nxt = succ[u][rng.integers(len(succ[u]))]
            path[u] = int(nxt)
            u = int(nxt)
        u = s
        while u not in in_tree:
            last_edge[u] = path[u]
            in_tree.add(u)
            u = path[u]
    for s, edges in succ.items():
        if s in last_edge:
            edges.remove(last_edge[s])
            rng.shuffle(edges)
            edges.append(last_edge[s])
        else:
            rng.shuffle(edges)
    out = np.empty(n, dtype=codes.dtype)
    out[0] = codes[0]
    pos = {s: 0 for s in succ}
    for i in range(1, n):
        prev = int(out[i - 1])
        out[i] = succ[prev][pos[prev]]
        pos[prev] += 1
    return out


@dataclass
class CacheStats:
    """What :func:`write_cache` wrote: rows, label counts (1: positive, 255: ambiguous,
    see :func:`seqcnn.data.regions.label_by_overlap`), checksums."""

    n: int = 0
    positives: dict[str, int] = field(default_factory=dict)
    ambiguous: dict[str, int] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    bytes: int = 0
    #: rows per strand code (:data:`STRANDS`): ``{"all": {...}, "positives": {...}}``, the
    #: positives being the rows labelled 1 for some task (:func:`orientation_block`)
    strands: dict[str, dict[str, int]] = field(default_factory=lambda: {
        "all": dict.fromkeys(STRANDS, 0), "positives": dict.fromkeys(STRANDS, 0)})


def encode_regions(
    genome: Genome, regions: pd.DataFrame, seq_len: int, alphabet: str = "dna",
    seed: int = 0,
) -> np.ndarray:
    """Extract and one-hot encode regions of length ``seq_len``: → ``uint8`` ``(n, A, L)``.

    Rows are processed chromosome by chromosome (each loaded once if the table is sorted);
    ``-`` strand rows are reverse-complemented; rows whose ``source`` is ``shuffle`` are
    dinucleotide-shuffled with a seed derived from their coordinates and ``seed``.
    """
    size = len(letters(alphabet))
    n = len(regions)
    out = np.empty((n, size, seq_len), dtype=np.uint8)
    if n == 0:
        return out
    chrom = regions["chrom"].to_numpy()
    start = regions["start"].to_numpy(np.int64)
    if not ((regions["end"].to_numpy(np.int64) - start) == seq_len).all():
        raise ValueError(f"every region must be {seq_len} bp long; resize first")
    change = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    bounds = np.concatenate([[0], change, [n]])
    lut = lookup_table(alphabet)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        windows = genome.windows(chrom[a], start[a:b], seq_len)
        one_hot_codes(lut[windows], size, out=out[a:b])
    if "source" in regions:
        shuffled = np.flatnonzero((regions["source"] == "shuffle").to_numpy())
        if len(shuffled):
            names = regions["name"].to_numpy()
            for i in shuffled:
                codes = np.where(out[i].any(0), out[i].argmax(0), UNKNOWN)
                rng = np.random.default_rng(_seed(chrom[i], int(start[i]), hash_name(names[i]),
                                                  seed))
                one_hot_codes(dinucleotide_shuffle_codes(codes, rng), size, out=out[i])
    minus = np.flatnonzero((regions["strand"] == "-").to_numpy())
    if len(minus):
        out[minus] = out[minus][:, ::-1, ::-1]
    return out


def hash_name(name: str) -> int:
    """A stable integer from a region name (for per-region seeds)."""
    return zlib.crc32(str(name).encode())


def write_cache(
    genome: Genome,
    chunks: Iterable[pd.DataFrame],
    n: int,
    tasks: list[str],
    onehot_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    seq_len: int,
    alphabet: str = "dna",
    seed: int = 0,
    progress: Iterator | None = None,
    in_flight: int = 2,
    ids_path: str | os.PathLike | None = None,
) -> CacheStats:
    """Stream region chunks (from :func:`seqcnn.data.regions.read_regions`) into the cache.

    ``n`` is the total number of rows (the ``.npy`` header is written first). With
    ``ids_path``, each row's :func:`region_ids` go to that ``ids.tsv`` too. Returns
    :class:`CacheStats`; raises if the chunks hold more or fewer than ``n`` rows.
    """
    size = len(letters(alphabet))
    stats = CacheStats(positives={t: 0 for t in tasks}, ambiguous={t: 0 for t in tasks})
    with NpyWriter(onehot_path, (n, size, seq_len)) as x_out, \
            NpyWriter(labels_path, (n, len(tasks))) as y_out, \
            IdsWriter(ids_path) as ids_out, \
            ThreadPoolExecutor(max_workers=1) as writer:
        # one thread writes and hashes chunk i while this one encodes chunk i + 1;
        # at most ``in_flight`` chunks wait, so memory stays bounded
        pending: deque = deque()
        for df in chunks:
            x = encode_regions(genome, df, seq_len, alphabet, seed)
            y = df[tasks].to_numpy(np.uint8) if tasks else np.zeros((len(df), 0), np.uint8)
            pending.append(writer.submit(_write_pair, x_out, y_out, x, y))
            ids_out.write(region_ids(df), np.full(len(df), seq_len))
            while len(pending) > in_flight:
                pending.popleft().result()
            _count_strands(stats.strands, df["strand"].to_numpy(), (y == 1).any(axis=1))
            for j, t in enumerate(tasks):
                stats.positives[t] += int((y[:, j] == 1).sum())
                stats.ambiguous[t] += int((y[:, j] == IGNORE).sum())
            stats.n += len(df)
            if progress is not None:
                progress.update(len(df))
        while pending:
            pending.popleft().result()
    stats.sha256 = {"onehot": x_out.sha256, "labels": y_out.sha256}
    stats.bytes = n * size * seq_len + n * len(tasks)
    return stats


def _count_strands(counts: dict[str, dict[str, int]], strands: np.ndarray,
                   positive: np.ndarray) -> None:
    """Add one chunk's strand codes ``(n,)`` to ``counts`` (all rows, and the rows where
    ``positive`` ``(n,)`` is true), in place."""
    for code in STRANDS:
        hit = strands == code
        counts["all"][code] += int(hit.sum())
        counts["positives"][code] += int((hit & positive).sum())


def _write_pair(x_out: NpyWriter, y_out: NpyWriter, x: np.ndarray, y: np.ndarray) -> None:
    x_out.write(x)
    y_out.write(y)


def load_cache(onehot_path: str | os.PathLike, labels_path: str | os.PathLike
               ) -> tuple[np.ndarray, np.ndarray]:
    """Memory-map a cache split: ``(N, A, L)`` and ``(N, tasks)`` ``uint8``, read-only."""
    return np.load(onehot_path, mmap_mode="r"), np.load(labels_path, mmap_mode="r")


# --------------------------------------------------------------------------- row ids


def region_ids(regions: pd.DataFrame) -> np.ndarray:
    """``chrom:start-end(strand)`` per region ``(N,)``: the names of predictions.tsv.gz."""
    if not len(regions):
        return np.array([], dtype=object)
    return (regions["chrom"].astype(str) + ":" + regions["start"].astype(str) + "-"
            + regions["end"].astype(str) + "(" + regions["strand"].astype(str) + ")"
            ).to_numpy()


class IdsWriter:
    """Stream ``{split}.ids.tsv`` (``id``, ``length`` per cache row) to a temporary file,
    renamed on a clean exit; a no-op when ``path`` is None."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = Path(path) if path is not None else None
        self.rows = 0

    def __enter__(self) -> IdsWriter:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(str(self.path) + ".tmp")
            self._fh = open(self.tmp, "w")
            self._fh.write("id\tlength\n")
        return self

    def write(self, ids: Iterable[str], lengths: Iterable[int]) -> None:
        """Append rows: ``ids`` ``(n,)`` and ``lengths`` ``(n,)``."""
        if self.path is None:
            return
        lines = [f"{i}\t{int(m)}\n" for i, m in zip(ids, lengths, strict=True)]
        self._fh.write("".join(lines))
        self.rows += len(lines)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path is None:
            return
        self._fh.close()
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
            return
        os.replace(self.tmp, self.path)


def write_ids(path: str | os.PathLike, ids: Iterable[str], lengths: Iterable[int]) -> None:
    """Write a whole ``ids.tsv`` at once (``ids``, ``lengths``: ``(N,)``)."""
    with IdsWriter(path) as out:
        out.write(ids, lengths)


def read_ids(path: str | os.PathLike) -> pd.DataFrame:
    """``{split}.ids.tsv`` → a table with ``id`` (str) and ``length`` (int), cache row order."""
    return pd.read_csv(path, sep="\t", dtype={"id": str, "length": np.int64},
                       keep_default_na=False)


# --------------------------------------------------------------------------- one contract


@dataclass(frozen=True)
class Split:
    """One split of a cache, memory-mapped, read-only.

    ``onehot`` ``uint8`` ``(N, A, L)``; ``labels`` ``uint8`` ``(N, tasks)`` (or ``(N, L)``
    per-position class codes); ``lengths`` ``int32`` ``(N,)`` real positions per row for a
    sequence set, None for a genome dataset (every row is ``L`` long); ``ids`` ``(N,)`` row
    names (region ids or sequence ids).
    """

    onehot: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray | None
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.onehot)


def load_split(cache_dir: str | os.PathLike, split: str) -> Split:
    """Memory-map ``split`` of the cache in ``cache_dir`` (either kind) → :class:`Split`.

    Raises :class:`ManifestError` naming the file when a part is missing or the parts do
    not have the same number of rows.
    """
    cache_dir = Path(cache_dir)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    paths = {kind: cache_dir / f"{split}.{kind}.npy" for kind in ("onehot", "labels")}
    paths["ids"] = cache_dir / f"{split}.ids.tsv"
    for path in paths.values():
        if not path.exists():
            raise ManifestError(f"{path}: missing from the cache; rebuild it (snakemake "
                                f"--forcerun {cache_dir / 'manifest.json'})")
    onehot = np.load(paths["onehot"], mmap_mode="r")
    labels = np.load(paths["labels"], mmap_mode="r")
    lengths_path = cache_dir / f"{split}.lengths.npy"
    lengths = np.load(lengths_path, mmap_mode="r") if lengths_path.exists() else None
    ids = read_ids(paths["ids"])["id"].to_numpy()
    n = len(onehot)
    for name, rows in (("labels", len(labels)), ("ids", len(ids)),
                       ("lengths", n if lengths is None else len(lengths))):
        if rows != n:
            raise ManifestError(f"{cache_dir}: {split}.{name} has {rows} rows, "
                                f"{split}.onehot.npy {n}; rebuild the cache (snakemake "
                                f"--forcerun {cache_dir / 'manifest.json'})")
    return Split(onehot, labels, lengths, ids)


@dataclass(frozen=True)
class Tracks:
    """A split's quantitative targets, memory-mapped, read-only: ``targets`` ``float32``
    ``(N, tracks)`` (counts) or ``(N, tracks, bins)`` (profile, binned); ``controls`` the
    same shape for the control tracks, None without them (:mod:`seqcnn.data.tracks`)."""

    targets: np.ndarray
    controls: np.ndarray | None


def load_tracks(cache_dir: str | os.PathLike, split: str) -> Tracks:
    """Memory-map ``{split}.targets.npy`` (and ``{split}.controls.npy`` if there) of a
    genome dataset with ``tracks:`` → :class:`Tracks`, rows in the order of
    :func:`load_split`'s. Raises :class:`ManifestError` naming the file when it is missing
    or its rows differ from ``{split}.onehot.npy``'s."""
    cache_dir = Path(cache_dir)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    path = cache_dir / f"{split}.targets.npy"
    if not path.exists():
        raise ManifestError(f"{path}: missing from the cache; a dataset gets targets from "
                            "tracks: (bigWig files) in its config (rule extract_track_targets)")
    targets = np.load(path, mmap_mode="r")
    controls_path = cache_dir / f"{split}.controls.npy"
    controls = np.load(controls_path, mmap_mode="r") if controls_path.exists() else None
    onehot = cache_dir / f"{split}.onehot.npy"
    n = len(np.load(onehot, mmap_mode="r")) if onehot.exists() else len(targets)
    for name, arr in (("targets", targets), ("controls", controls)):
        if arr is not None and len(arr) != n:
            raise ManifestError(f"{cache_dir}: {split}.{name}.npy has {len(arr)} rows, "
                                f"{split}.onehot.npy {n}; rebuild the cache (snakemake "
                                f"--forcerun {cache_dir / 'manifest.json'})")
    return Tracks(targets, controls)


def tracks_block(cfg: dict[str, Any], stats: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest's ``tracks``: bigWigs, target kind, lengths, and per split the rows,
    per-track totals and positions without a value, from extract_track_targets'
    ``{split}.targets.json`` / ``{split}.controls.json`` (``stats``, each with ``split``
    and ``signal``)."""
    per = {sig: {s["split"]: {k: s[k] for k in ("n", "shape", "totals", "nan_bp",
                                                 "minus_strand_reversed")}
                 for s in stats if s["signal"] == sig} for sig in ("targets", "controls")}
    return {"tracks": dict(cfg.get("tracks") or {}), "controls": dict(cfg.get("controls") or {}),
            "target": stats[0]["target"] if stats else cfg.get("target") or "counts",
            "seq_len": cfg["seq_len"],
            "output_len": stats[0]["output_len"] if stats else cfg.get("output_len"),
            "bin_size": stats[0]["bin_size"] if stats else cfg.get("bin_size"),
            "layout": {"targets": "float32 (N, tracks) counts | (N, tracks, output_len) "
                                  "profile | (N, tracks, output_len // bin_size) binned",
                       "controls": "float32, as targets, for the controls"},
            "per_split": per["targets"], "controls_per_split": per["controls"]}


def drops_block(by_reason: dict[str, int], **detail: Any) -> dict[str, Any]:
    """The manifest's ``drops``: ``{"total", "by_reason": {reason: n}, **detail}``."""
    by_reason = {str(k): int(v) for k, v in by_reason.items()}
    return {"total": sum(by_reason.values()), "by_reason": by_reason, **detail}


def validate_manifest(manifest: dict[str, Any], path: str | os.PathLike = "manifest.json"
                      ) -> dict[str, Any]:
    """Check a manifest against the one schema for both kinds; return it unchanged.

    Required: :data:`MANIFEST_KEYS`; ``kind`` in :data:`KINDS` and equal to
    ``source["kind"]``; ``targets`` a :meth:`seqcnn.data.targets.Targets.to_dict` whose tasks
    are ``tasks``; ``letters`` one per alphabet channel; ``counts`` and ``checksums`` for
    every split; ``drops`` as :func:`drops_block` makes it. Raises :class:`ManifestError`
    listing every problem.
    """
    problems = [f"no {k!r}" for k in MANIFEST_KEYS if k not in manifest]
    if not problems:
        problems += _schema_problems(manifest)
    if problems:
        raise ManifestError(f"{path}: not a seqcnn cache manifest (schema {MANIFEST_SCHEMA}): "
                            + "; ".join(problems) + f"; rebuild it (snakemake --forcerun "
                            f"{path})")
    return manifest


def _schema_problems(m: dict[str, Any]) -> list[str]:
    from seqcnn.data.targets import Targets  # torch: only when a manifest is checked

    out = []
    if m["schema"] != MANIFEST_SCHEMA:
        out.append(f"schema {m['schema']!r}, expected {MANIFEST_SCHEMA}")
    if m["kind"] not in KINDS:
        out.append(f"kind {m['kind']!r} is not one of {', '.join(KINDS)}")
    if not isinstance(m["source"], dict) or m["source"].get("kind") != m["kind"]:
        out.append("source must be a block whose 'kind' is the manifest's kind")
    if len(m["letters"]) != len(letters(m["alphabet"])):
        out.append(f"letters {m['letters']!r} do not fit alphabet {m['alphabet']!r}")
    try:
        targets = Targets.from_dict(m["targets"])
        if list(targets.tasks) != list(m["tasks"]):
            out.append(f"targets' tasks {list(targets.tasks)} are not tasks {m['tasks']}")
    except (KeyError, TypeError, ValueError) as e:
        out.append(f"targets: {e}")
    for split in SPLITS:
        if not isinstance(m["counts"].get(split, {}).get("n"), int):
            out.append(f"counts.{split}.n missing")
        for kind in ("onehot", "labels"):
            if f"{split}.{kind}.npy" not in m["checksums"]:
                out.append(f"checksums of {split}.{kind}.npy missing")
    drops = m["drops"]
    if not (isinstance(drops, dict) and isinstance(drops.get("by_reason"), dict)
            and drops.get("total") == sum(drops["by_reason"].values())):
        out.append("drops must hold by_reason counts and their total")
    return out


# --------------------------------------------------------------------------- orientation


def is_stranded(positive_strands: dict[str, int]) -> bool:
    """Whether positives carry a strand: more than half of them ``+`` or ``-`` (counts per
    :data:`STRANDS` code of the rows labelled 1 for some task)."""
    stranded = positive_strands.get("+", 0) + positive_strands.get("-", 0)
    return stranded > sum(positive_strands.values()) / 2


def orientation_block(kind: str, alphabet: str, oriented: bool | str = "auto",
                      strands: dict[str, dict[str, int]] | None = None,
                      key: str = "datasets.<name>.oriented") -> dict[str, Any]:
    """The manifest's ``stranded``, ``oriented`` and ``orientation`` keys.

    ``stranded``: a genome dataset whose positives carry ``+``/``-`` strands
    (:func:`is_stranded` of ``strands["positives"]``, the summed :class:`CacheStats`
    counts); a sequence set never is. ``oriented``: the sequences are read in one fixed
    orientation, so a sequence and its reverse complement are different examples. With
    ``oriented: auto`` (the config's default) a genome dataset is oriented when stranded
    (minus-strand regions are reverse-complemented when cached) and a sequence set when
    its alphabet is RNA (single-stranded molecules); ``true``/``false`` force it.
    ``orientation`` holds ``how`` (the reason, for logs) and the strand counts.
    """
    if oriented not in ORIENTED or not isinstance(oriented, (bool, str)):
        raise ConfigError(f"config key {key} is {oriented!r}; use auto, true or false")
    counts = strands or {"all": dict.fromkeys(STRANDS, 0),
                         "positives": dict.fromkeys(STRANDS, 0)}
    stranded = kind == "genome" and is_stranded(counts["positives"])
    pos = counts["positives"]
    if kind == "genome":
        seen = (f"{pos.get('+', 0)} + / {pos.get('-', 0)} - / {pos.get('.', 0)} unstranded "
                "positive regions")
    else:
        seen = f"a {alphabet} sequence set"
    if oriented != "auto":
        how = f"{key} is {str(oriented).lower()} ({seen})"
        is_oriented = bool(oriented)
    elif kind == "genome":
        is_oriented = stranded
        how = (f"{seen}: " + ("stranded, read in each feature's orientation" if stranded
                              else "unstranded"))
    else:
        is_oriented = alphabet == "rna"
        how = seen + (": RNA is single-stranded, read 5'->3'" if is_oriented
                      else ": no strand given (set oriented: true if the sequences are)")
    return {"stranded": bool(stranded), "oriented": bool(is_oriented),
            "orientation": {"how": how, "setting": oriented, "strands": counts}}


def sum_strands(stats: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Strand counts summed over per-split stats (``{split}.stats.json``; splits written
    before strands were counted add nothing)."""
    out = {"all": dict.fromkeys(STRANDS, 0), "positives": dict.fromkeys(STRANDS, 0)}
    for s in stats:
        for group, counts in (s.get("strands") or {}).items():
            for code, k in counts.items():
                out[group][code] += int(k)
    return out


def dataset_orientation(manifest: dict[str, Any]) -> tuple[bool, str]:
    """``(oriented, why)`` of a cache manifest (:func:`orientation_block`); a manifest
    written before orientation was recorded counts as not oriented, and says so."""
    if "oriented" not in manifest:
        return False, ("the cache manifest records no orientation (built before it was): "
                       "treated as unstranded; rebuild the cache to detect strands")
    return bool(manifest["oriented"]), str(manifest.get("orientation", {}).get("how", ""))


def cache_orientation(cache_dir: str | os.PathLike) -> tuple[bool, str] | None:
    """:func:`dataset_orientation` of ``cache_dir/manifest.json``; None without one."""
    path = Path(cache_dir) / "manifest.json"
    if not path.exists():
        return None
    with open(path) as fh:
        return dataset_orientation(json.load(fh))


def genome_manifest(dataset: str, cfg: dict[str, Any], stats: list[dict[str, Any]],
                    positives: dict[str, Any], negatives: dict[str, Any],
                    split: dict[str, Any], version: str,
                    tracks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The manifest of a genome dataset's cache, in the one schema.

    ``stats`` are the per-split ``{split}.stats.json`` of build_cache; ``positives``,
    ``negatives`` and ``split`` the JSON summaries of the region rules. Besides the schema's
    keys it keeps the genome fields readers use (``chromosomes``, ``split``, ``dropped``,
    ``negatives``, ``ambiguous``, ...). A dataset with ``tracks:`` passes the
    ``{split}.targets.json`` (and ``.controls.json``) of extract_track_targets as
    ``tracks``: they add a ``tracks`` block (:func:`tracks_block`) and their checksums.
    """
    from seqcnn.data.targets import Targets

    tasks = list(cfg["tasks"])
    dropped = {t: v["dropped"] for t, v in positives["tasks"].items()}
    by_reason: dict[str, int] = {}
    for counts in dropped.values():
        for reason, k in counts.items():
            by_reason[reason] = by_reason.get(reason, 0) + int(k)
    by_reason["merged_duplicates"] = int(positives["merged_duplicates"])
    out = {
        "schema": MANIFEST_SCHEMA,
        "dataset": dataset,
        "seqcnn_version": version,
        "kind": "genome",
        "source": {"kind": "genome", "genome": cfg.get("genome"),
                   "tasks": dict(cfg["tasks"]), "negatives": cfg.get("negatives"),
                   "read": {t: v["read"] for t, v in positives["tasks"].items()}},
        "alphabet": cfg["alphabet"],
        "letters": letters(cfg["alphabet"]),
        "seq_len": cfg["seq_len"],
        "tasks": tasks,
        "targets": Targets.binary(tasks).to_dict(),
        "layout": {"onehot": "uint8 (N, alphabet, seq_len)", "labels": "uint8 (N, tasks)",
                   "ids": "{split}.ids.tsv: id (chrom:start-end(strand)), length"},
        "counts": {s["split"]: {"n": s["n"], "positives": s["positives"],
                                "ambiguous": s.get("ambiguous", {})} for s in stats},
        "drops": drops_block(by_reason, per_task=dropped, split_dropped=split["dropped"]),
        "chromosomes": {k: v["chromosomes"] for k, v in split["splits"].items()},
        "split": split["split"],
        "split_how": split["how"],
        "split_dropped": split["dropped"],
        "empty_tasks": split["empty_tasks"],
        "dropped": dropped,
        "read": {t: v["read"] for t, v in positives["tasks"].items()},
        "merged_duplicates": positives["merged_duplicates"],
        "ambiguous": {"label_overlap": positives.get("label_overlap"),
                      "per_task": positives.get("ambiguous_per_task", {}),
                      "per_split": {s["split"]: s.get("ambiguous", {}) for s in stats}},
        "negatives": {k: negatives.get(k) for k in
                      ("method", "ratio", "n", "shortfall", "shortfall_by_gc", "candidates",
                       "capacity", "free_bp", "gc_median_positives", "gc_median_negatives")},
        "checksums": {f"{s['split']}.{kind}.npy": {"sha256": s["sha256"][kind]}
                      for s in stats for kind in ("onehot", "labels")},
        **orientation_block("genome", cfg["alphabet"], cfg.get("oriented", "auto"),
                            sum_strands(stats), key=f"datasets.{dataset}.oriented"),
        "config": cfg,
    }
    if tracks:
        out["tracks"] = tracks_block(cfg, tracks)
        out["checksums"].update({f"{t['split']}.{t['signal']}.npy": {"sha256": t["sha256"]}
                                 for t in tracks})
    return out
