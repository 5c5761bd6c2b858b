"""Torch datasets over the memory-mapped one-hot cache, with augmentation.

The cache (:mod:`seqcnn.data.cache`) holds ``uint8`` one-hot ``(N, A, L)`` and labels ``(N, T)``.
:class:`CacheDataset` reads it through ``np.load(mmap_mode="r")``: only the rows of the
batch being built are read, so memory does not grow with ``N``. Batches are read with one
fancy-index per batch (not one ``__getitem__`` per sequence), which is what keeps the input
pipeline far faster than the model step (see ``benchmarks/train.py``).

Batches are requested as ``(epoch, indices)`` by :class:`EpochBatchSampler` and built by
:meth:`CacheDataset.get_batch`. Tensors come back as ``uint8`` (one quarter of the bytes of
``float32`` to copy to a GPU); models accept ``uint8`` input.

Augmentation (training only) is a pure function of ``(seed, epoch, row index)``, through a
counter-based hash rather than a stateful generator, so it is identical whatever the
number of workers, the batch composition, or a restart from a checkpoint:

- ``rc_augment``: each sequence is replaced by its reverse complement with probability 1/2
  (labels unchanged; DNA/RNA only).
- ``jitter``: each sequence is shifted by ``s`` positions, ``s`` uniform in
  ``[-jitter, jitter]``; positive ``s`` moves the content towards the 3' end. The cache
  holds exactly ``seq_len`` bp, so there are no flanks to shift in: the ``|s|`` positions
  uncovered at one end are filled with zeros (the encoding of N) and the ``|s|`` positions
  pushed past the other end are cropped. The length never changes. Keep ``jitter`` small
  compared with ``seq_len`` (a few bp to a few tens of bp): the zero-filled edge is
  padding without a mask, like the edges of a ``same``-padded convolution.

Sampling order is a permutation seeded by ``(seed, epoch)``, so epoch ``k`` of a resumed run
draws the same batches as epoch ``k`` of an uninterrupted one.

Sequence sets (:mod:`seqcnn.data.seqsets`) add ``lengths`` ``(N,)``: the one-hot is zero past each
length and labels may be per-position ``(N, L)``. Batches are then ``(x, y, lengths)``, the
padding mode is applied later on the device (:func:`seqcnn.train.batches.pad_batch`), and shuffled
batches group similar lengths (:class:`seqcnn.train.batches.LengthGroupedBatchSampler`, seeded by
``(seed, epoch)`` too) so that a batch can be cropped to its longest sequence. Reverse
complement and jitter are refused with lengths: both would move the padding to the front.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from seqcnn.data.cache import load_cache
from seqcnn.train.batches import LengthGroupedBatchSampler

_U64 = (1 << 64) - 1
_RC_STREAM = 1
_JITTER_STREAM = 2

#: A batch request: ``(epoch, row indices)``.
BatchKey = tuple[int, np.ndarray]


# --------------------------------------------------------------------------- hashing


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on ``uint64`` arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def random_bits(seed: int, epoch: int, indices: Sequence[int] | np.ndarray, stream: int
                ) -> np.ndarray:
    """64 pseudo-random bits per index, a pure function of ``(seed, epoch, index, stream)``.

    Returns ``uint64`` of the shape of ``indices``.
    """
    key = np.array([seed & _U64], dtype=np.uint64)
    for part in (epoch, stream):
        key = _splitmix64(key ^ np.uint64(part & _U64))
    idx = np.asarray(indices, dtype=np.int64).astype(np.uint64)
    return _splitmix64(_splitmix64(idx ^ key[0]))


# --------------------------------------------------------------------------- augmentation


def shift_batch(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each sequence of ``x`` ``(n, A, L)`` by ``shifts[i]`` positions; same shape.

    ``out[i, :, j] = x[i, :, j - shifts[i]]`` where that is inside ``0..L-1``, else 0: content
    moves towards higher positions for positive shifts; uncovered positions are zero-filled
    and content pushed past the end is cropped.
    """
    x = np.asarray(x)
    shifts = np.asarray(shifts, dtype=np.int64)
    if x.ndim != 3 or shifts.shape != (x.shape[0],):
        raise ValueError(f"expected x (n, A, L) and shifts (n,), got {x.shape} and {shifts.shape}")
    length = x.shape[-1]
    src = np.arange(length)[None, :] - shifts[:, None]
    inside = (src >= 0) & (src < length)
    out = np.take_along_axis(x, np.clip(src, 0, length - 1)[:, None, :], axis=2)
    out *= inside[:, None, :].astype(out.dtype)
    return out


def augment_batch(
    x: np.ndarray,
    indices: np.ndarray,
    epoch: int,
    seed: int,
    rc_augment: bool = False,
    jitter: int = 0,
) -> np.ndarray:
    """Apply jitter then reverse-complement augmentation to a batch ``(n, A, L)``.

    ``indices`` are the rows' indices in the split: together with ``seed`` and ``epoch``
    they decide each row's shift and strand (see the module docstring). Returns a new array
    (``x`` is not modified).
    """
    x = np.array(x, copy=True)
    if jitter:
        bits = random_bits(seed, epoch, indices, _JITTER_STREAM)
        shifts = (bits % np.uint64(2 * jitter + 1)).astype(np.int64) - jitter
        x = shift_batch(x, shifts)
    if rc_augment:
        flip = (random_bits(seed, epoch, indices, _RC_STREAM) >> np.uint64(63)).astype(bool)
        if flip.any():
            x[flip] = x[flip][:, ::-1, ::-1]
    return x


#: Why sequences with lengths take neither reverse complement nor jitter.
PADDING_MOVES = "reverse complement and shifts would move the padding to the front"


def augmentation_for(rc_augment: bool, jitter: int, lengths: bool) -> tuple[bool, int]:
    """``(rc_augment, jitter)`` a training split can take: as asked, or both off for
    sequences with lengths (padded at the 3' end: :data:`PADDING_MOVES`). The one place that
    decides it; :class:`CacheDataset` refuses the rest."""
    return (False, 0) if lengths else (bool(rc_augment), int(jitter))


# --------------------------------------------------------------------------- dataset


def _is_whole_npy_memmap(arr: Any) -> bool:
    """True if ``arr`` is a whole ``.npy`` file opened with ``np.load(mmap_mode=...)``."""
    if not isinstance(arr, np.memmap) or not getattr(arr, "filename", None):
        return False
    try:
        ref = np.load(arr.filename, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return (ref.shape == arr.shape and ref.dtype == arr.dtype and ref.strides == arr.strides
            and ref.offset == arr.offset)


def read_rows(arr: np.ndarray, indices: np.ndarray, fd: int | None = None) -> np.ndarray:
    """Rows ``indices`` (``int64`` ``(n,)``, in any order) of ``arr`` as a new array.

    A whole ``.npy`` file opened with ``np.load(mmap_mode=...)`` is read with
    ``os.preadv``, one call per run of consecutive rows, from ``fd`` (or a descriptor
    opened for the call), not through the mapping: every page a fault maps counts in the
    process's RSS, and where the page cache holds large folios one 2-kB row maps
    megabytes, so shuffled batches over a large cache showed the whole cache as resident
    memory. Other arrays are indexed as usual. A caller that passes ``fd`` vouches that
    ``arr`` is such a file (C-contiguous) and that ``fd`` reads it.
    """
    idx = np.asarray(indices, dtype=np.int64)
    if fd is None and not (_is_whole_npy_memmap(arr) and arr.flags.c_contiguous):
        return np.asarray(arr[idx])
    if len(idx) and (idx.min() < 0 or idx.max() >= arr.shape[0]):
        raise IndexError(f"row index out of range 0..{arr.shape[0] - 1}")
    out = np.empty((len(idx), *arr.shape[1:]), dtype=arr.dtype)
    if not len(idx):
        return out
    row = arr.strides[0]
    flat = memoryview(out.reshape(-1).view(np.uint8))
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate([[0], breaks]).astype(np.int64)
    ends = np.concatenate([breaks, [len(idx)]]).astype(np.int64)
    own = fd is None
    if own:
        fd = os.open(arr.filename, os.O_RDONLY)
    try:
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            want = (b - a) * row
            got = os.preadv(fd, [flat[a * row:b * row]], arr.offset + int(idx[a]) * row)
            if got != want:
                raise OSError(f"{arr.filename}: short read ({got} of {want} bytes)")
    finally:
        if own:
            os.close(fd)
    return out


class CacheDataset(Dataset):
    """One split of the one-hot cache, read lazily from memory-mapped ``.npy`` files.

    ``onehot`` is ``(N, A, L)`` (``uint8``), ``labels`` ``(N, T)`` (or per-position
    ``(N, L)``), ``lengths`` optionally ``(N,)`` (real positions per row, ``0..L``); numpy
    arrays or memmaps (use :meth:`from_files` or :func:`seqcnn.data.cache.load_cache`). Memmaps
    stay memmaps: pickling the dataset (for ``spawn``/``forkserver`` DataLoader workers)
    sends the file names, and each worker maps the files again instead of receiving a copy.

    ``dataset[i]`` is one ``(x (A, L), y (T,))`` pair, augmented as in epoch 0;
    ``dataset[(epoch, indices)]`` is a batch ``(x (n, A, L), y (n, T))`` augmented for
    ``epoch`` (the form :class:`EpochBatchSampler` requests). Tensors are ``uint8``. With
    ``lengths`` every item gains a third tensor, the lengths (``int64``); augmentation is
    refused then.
    """

    def __init__(
        self,
        onehot: np.ndarray,
        labels: np.ndarray,
        *,
        lengths: np.ndarray | None = None,
        rc_augment: bool = False,
        jitter: int = 0,
        seed: int = 0,
        alphabet: str = "dna",
    ) -> None:
        if onehot.ndim != 3:
            raise ValueError(f"one-hot array must be (N, alphabet, seq_len), got {onehot.shape}")
        if labels.ndim != 2 or labels.shape[0] != onehot.shape[0]:
            raise ValueError(
                f"labels must be (N, tasks) or (N, seq_len) with N = {onehot.shape[0]}, got "
                f"{labels.shape}"
            )
        if lengths is not None:
            _check_lengths(lengths, onehot.shape[0], onehot.shape[-1])
            if rc_augment or jitter:  # what augmentation_for turns off
                raise ValueError("rc_augment and jitter are not supported with lengths (padded "
                                 f"sequences): {PADDING_MOVES}; turn them off")
        if rc_augment and alphabet not in ("dna", "rna"):
            raise ValueError(f"rc_augment needs a nucleic-acid alphabet, not {alphabet!r}")
        if isinstance(jitter, bool) or not isinstance(jitter, (int, np.integer)) or jitter < 0:
            raise ValueError(f"jitter must be an integer >= 0, got {jitter!r}")
        if jitter >= onehot.shape[-1]:
            raise ValueError(f"jitter={jitter} must be smaller than seq_len={onehot.shape[-1]}")
        self.onehot = onehot
        self.labels = labels
        self.lengths = lengths
        self.rc_augment = bool(rc_augment)
        self.jitter = int(jitter)
        self.seed = int(seed)
        self.alphabet = alphabet
        self._direct = {name: _is_whole_npy_memmap(getattr(self, name))
                        for name in ("onehot", "labels")}

    @classmethod
    def from_files(
        cls, onehot_path: str | os.PathLike, labels_path: str | os.PathLike,
        lengths_path: str | os.PathLike | None = None, **kwargs: Any
    ) -> CacheDataset:
        """Memory-map a cache split (``{split}.onehot.npy``, ``{split}.labels.npy``, and
        ``{split}.lengths.npy`` of a sequence set)."""
        if lengths_path is not None:
            kwargs["lengths"] = np.load(lengths_path, mmap_mode="r")
        return cls(*load_cache(onehot_path, labels_path), **kwargs)

    @property
    def seq_len(self) -> int:
        return int(self.onehot.shape[-1])

    @property
    def alphabet_size(self) -> int:
        return int(self.onehot.shape[1])

    @property
    def n_tasks(self) -> int:
        return int(self.labels.shape[1])

    def __len__(self) -> int:
        return int(self.onehot.shape[0])

    def get_batch(self, indices: Sequence[int] | np.ndarray, epoch: int = 0
                  ) -> tuple[torch.Tensor, ...]:
        """Rows ``indices`` as ``uint8`` tensors ``(n, A, L)`` and ``(n, T)``, augmented;
        with lengths also the lengths ``int64`` ``(n,)``."""
        idx = np.asarray(indices, dtype=np.int64)
        x, y = self._rows("onehot", idx), self._rows("labels", idx)
        if y.dtype.kind != "f":  # class codes; float labels (regression, NaN = none) pass
            y = y.astype(np.uint8, copy=False)
        if self.rc_augment or self.jitter:
            x = augment_batch(x, idx, epoch, self.seed, self.rc_augment, self.jitter)
        x = np.ascontiguousarray(x, dtype=np.uint8)
        batch = (torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(y)))
        if self.lengths is None:
            return batch
        return (*batch, torch.from_numpy(np.asarray(self.lengths[idx], dtype=np.int64)))

    def __getitem__(self, key: int | BatchKey) -> tuple[torch.Tensor, ...]:
        if isinstance(key, tuple):
            epoch, indices = key
            return self.get_batch(indices, epoch)
        return tuple(t[0] for t in self.get_batch([int(key)]))

    def _rows(self, name: str, idx: np.ndarray) -> np.ndarray:
        """Rows of ``onehot`` or ``labels``: read with :func:`read_rows` from a descriptor kept
        per process (a whole-file memmap), else by indexing."""
        arr = getattr(self, name)
        if not (self._direct.get(name) and arr.flags.c_contiguous):
            return np.asarray(arr[idx])
        fds = self.__dict__.setdefault("_fds", {})
        if fds.get("pid") != os.getpid():  # a forked worker opens its own descriptors
            fds.clear()
            fds["pid"] = os.getpid()
        if name not in fds:
            fds[name] = os.open(arr.filename, os.O_RDONLY)
        return read_rows(arr, idx, fds[name])

    # Pickle memmaps by file name, so that workers map the file instead of copying it.
    _MEMMAPS = ("onehot", "labels", "lengths")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_fds", None)  # descriptors are per process
        for name in self._MEMMAPS:
            arr = state.get(name)
            if arr is not None and _is_whole_npy_memmap(arr):
                state[name] = ("__npy_memmap__", os.fspath(arr.filename))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("lengths", None)
        for name in self._MEMMAPS:
            value = state[name]
            if isinstance(value, tuple) and value and value[0] == "__npy_memmap__":
                state[name] = np.load(value[1], mmap_mode="r")
        self.__dict__.update(state)


def _check_lengths(lengths: np.ndarray, n: int, seq_len: int) -> None:
    """``lengths`` must be integers ``(n,)`` in ``0..seq_len``."""
    lens = np.asarray(lengths)
    if lens.shape != (n,) or not np.issubdtype(lens.dtype, np.integer):
        raise ValueError(f"lengths must be integers (N,) with N = {n}, got {lens.dtype} "
                         f"{lens.shape}")
    if n and (int(lens.min()) < 0 or int(lens.max()) > seq_len):
        raise ValueError(f"lengths must lie in 0..{seq_len} (seq_len), got "
                         f"{int(lens.min())}..{int(lens.max())}")


class SortedBatchSampler(Sampler):
    """Yields ``(epoch, indices)``: rows in increasing length (stable), cut into batches.

    For evaluation of padded sequences: each batch holds similar lengths, so cropping it to
    its longest sequence saves most of the padding. The order does not depend on the epoch;
    :meth:`order` gives it, to put outputs back in row order.
    """

    def __init__(self, lengths: Sequence[int] | np.ndarray, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size = int(batch_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self) -> np.ndarray:
        return np.argsort(self.lengths, kind="stable").astype(np.int64)

    def __iter__(self) -> Iterator[BatchKey]:
        order = self.order()
        for start in range(0, len(order), self.batch_size):
            yield self.epoch, order[start:start + self.batch_size]

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


class EpochBatchSampler(Sampler):
    """Yields ``(epoch, indices)`` batch requests for :class:`CacheDataset`.

    With ``shuffle`` the order is a permutation seeded by ``(seed, epoch)``: the same epoch
    gives the same batches in any run. Call :meth:`set_epoch` before iterating. With
    ``drop_last`` a final incomplete batch is dropped (only when at least one full batch
    exists).

    With ``world_size > 1`` (data-parallel training) each process yields its shard of every
    global batch of ``batch_size`` rows: rows ``rank * b : (rank + 1) * b`` of it, with
    ``b = batch_size / world_size`` (``batch_size`` must be divisible by ``world_size``).
    The global order is the same in every process, so the shards of all ranks together are
    exactly the single-process batch. A final incomplete global batch is always dropped then
    (it could not be split into equal shards), and ``n >= batch_size`` is required.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank {rank}, "
                             f"world_size {world_size}")
        if batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} is not divisible by the number of "
                             f"processes {world_size}")
        if world_size > 1 and n < batch_size:
            raise ValueError(f"{n} rows are fewer than one global batch of {batch_size}")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.drop_last = (drop_last or world_size > 1) and self.n >= self.batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self) -> np.ndarray:
        """Row order of the current epoch."""
        if not self.shuffle:
            return np.arange(self.n, dtype=np.int64)
        rng = np.random.default_rng([self.seed & _U64, self.epoch & _U64])
        return rng.permutation(self.n).astype(np.int64)

    def __iter__(self) -> Iterator[BatchKey]:
        order = self.order()
        shard = self.batch_size // self.world_size
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if self.world_size > 1:
                first = start + self.rank * shard
                yield self.epoch, order[first:first + shard]
            else:
                yield self.epoch, order[start:start + self.batch_size]

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)


def make_loader(
    dataset: CacheDataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    drop_last: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
    rank: int = 0,
    world_size: int = 1,
    sort_by_length: bool = False,
    pool: int = 50,
) -> DataLoader:
    """A DataLoader of whole batches from ``dataset`` (one memmap read per batch).

    ``loader.sampler`` is an :class:`EpochBatchSampler` (it yields whole batches, so the
    DataLoader's own batching is off): call ``loader.sampler.set_epoch(epoch)`` before each
    epoch. Workers are persistent (the epoch travels with each batch request); the loader's
    own generator is seeded, so creating an iterator never touches the global torch RNG.
    ``rank``/``world_size``: this process's shard of every global batch (see
    :class:`EpochBatchSampler`).

    For a dataset with lengths, in one process: ``shuffle`` gives a
    :class:`seqcnn.train.batches.LengthGroupedBatchSampler` (batches of similar lengths, seeded by
    ``(seed, epoch)``, ``pool`` batches sorted together), and ``sort_by_length`` without
    ``shuffle`` a :class:`SortedBatchSampler` (rows in increasing length; outputs come back
    in ``loader.sampler.order()``). Data-parallel loaders keep :class:`EpochBatchSampler`.
    """
    lengths = getattr(dataset, "lengths", None)
    sampler: Sampler | LengthGroupedBatchSampler
    if lengths is not None and world_size == 1 and shuffle:
        sampler = LengthGroupedBatchSampler(lengths, batch_size, seed=seed, pool=pool,
                                            drop_last=drop_last)
    elif lengths is not None and world_size == 1 and sort_by_length:
        sampler = SortedBatchSampler(lengths, batch_size)
    else:
        sampler = EpochBatchSampler(
            len(dataset), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last,
            rank=rank, world_size=world_size,
        )
    return DataLoader(
        dataset,
        batch_size=None,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        prefetch_factor=4 if num_workers > 0 else None,
        generator=torch.Generator().manual_seed(seed & 0x7FFF_FFFF_FFFF_FFFF),
    )


__all__ = [
    "BatchKey",
    "CacheDataset",
    "EpochBatchSampler",
    "PADDING_MOVES",
    "SortedBatchSampler",
    "read_rows",
    "augment_batch",
    "augmentation_for",
    "make_loader",
    "random_bits",
    "shift_batch",
]
