"""Batches of sequences with lengths: padding modes, length masks, length-grouped batches.

The cache is ``uint8`` one-hot with zero padding plus ``lengths``; the padding *mode* is
applied here, at load time (:func:`pad_batch`), so one cache serves every mode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

#: How padded columns look to a model: 0 (seen), 0 plus a mask, or ``1/A`` in each channel.
PADDING_MODES = ("zeros", "zeros+mask", "uniform")


def length_mask(lengths: np.ndarray | torch.Tensor, length: int) -> np.ndarray | torch.Tensor:
    """Mask ``(N, length)``, ``True`` at positions ``< lengths[i]`` (numpy or torch, as given)."""
    if isinstance(lengths, torch.Tensor):
        return torch.arange(length, device=lengths.device)[None, :] < lengths[:, None]
    return np.arange(length)[None, :] < np.asarray(lengths)[:, None]


def pad_batch(
    x: np.ndarray | torch.Tensor,
    lengths: np.ndarray | torch.Tensor,
    mode: str = "zeros+mask",
    trim: bool = False,
    dtype: torch.dtype = torch.float32,
) -> tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor | None]:
    """Apply a padding mode to a cached batch: ``uint8`` ``(n, A, L)`` + lengths ``(n,)``.

    Returns ``(x_float (n, A, L'), mask (n, L') or None)``, torch tensors for a tensor ``x``
    and numpy arrays otherwise. ``mode``:

    - ``zeros``: padded columns 0; mask ``None``;
    - ``zeros+mask``: padded columns 0; mask ``True`` exactly on real positions;
    - ``uniform``: padded columns ``1/A`` in every channel; mask ``None``.

    ``trim`` crops the batch to its longest sequence (``L' = max(lengths)``), the saving of
    length-grouped batches; otherwise ``L' = L``. Columns past each length are always
    rewritten, whatever the cache holds there.
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"padding mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")
    as_numpy = not isinstance(x, torch.Tensor)
    if as_numpy:
        x = np.asarray(x)
        xt = torch.from_numpy(x if x.flags.writeable and x.flags.c_contiguous else x.copy())
    else:
        xt = x
    lt = torch.as_tensor(np.asarray(lengths) if not isinstance(lengths, torch.Tensor)
                         else lengths, device=xt.device).long()
    if xt.ndim != 3 or lt.shape != (xt.shape[0],):
        raise ValueError(f"expected x (n, A, L) and lengths (n,), got {tuple(xt.shape)} and "
                         f"{tuple(lt.shape)}")
    if len(lt) and (int(lt.max()) > xt.shape[-1] or int(lt.min()) < 0):
        raise ValueError(f"lengths must lie in 0..{xt.shape[-1]}, got {int(lt.min())}.."
                         f"{int(lt.max())}")
    if trim and len(lt):
        xt = xt[..., :int(lt.max())]
    mask = length_mask(lt, xt.shape[-1])
    out = xt.to(dtype) * mask[:, None, :].to(dtype)
    if mode == "uniform":
        out = out + (~mask)[:, None, :].to(dtype) / xt.shape[1]
    keep_mask = mask if mode == "zeros+mask" else None
    if as_numpy:
        return out.numpy(), None if keep_mask is None else keep_mask.numpy()
    return out, keep_mask


def length_grouped_batches(
    lengths: Sequence[int] | np.ndarray,
    batch_size: int,
    seed: int = 0,
    epoch: int = 0,
    pool: int = 50,
    drop_last: bool = False,
) -> list[np.ndarray]:
    """Batches of row indices grouping similar lengths, shuffled, seeded by ``(seed, epoch)``.

    The rows are permuted, cut into pools of ``pool * batch_size``, each pool sorted by length
    (stable, so equal lengths stay in random order) and cut into batches; the batch order is
    then shuffled. Every index appears exactly once per epoch (unless ``drop_last`` drops
    the one incomplete batch); there are ``ceil(N / batch_size)`` batches. Larger ``pool``:
    less length spread within batches, less randomness in their composition.
    """
    if batch_size < 1 or pool < 1:
        raise ValueError(f"batch_size and pool must be >= 1, got {batch_size}, {pool}")
    lengths = np.asarray(lengths)
    n = len(lengths)
    rng = np.random.default_rng([int(seed) & (2**63 - 1), int(epoch)])
    order = rng.permutation(n)
    size = pool * batch_size
    batches: list[np.ndarray] = []
    partial: np.ndarray | None = None
    for a in range(0, n, size):
        chunk = order[a:a + size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        for b in range(0, len(chunk), batch_size):
            batch = chunk[b:b + batch_size]
            if len(batch) < batch_size:
                partial = batch
            else:
                batches.append(batch)
    perm = rng.permutation(len(batches))
    batches = [batches[i] for i in perm]
    if partial is not None and not (drop_last and batches):
        batches.append(partial)
    return batches


class LengthGroupedBatchSampler:
    """:func:`length_grouped_batches` as a batch sampler yielding ``(epoch, indices)``.

    The request form of :class:`seqcnn.train.datasets.EpochBatchSampler`; call :meth:`set_epoch`
    before each epoch.
    """

    def __init__(self, lengths: Sequence[int] | np.ndarray, batch_size: int, *, seed: int = 0,
                 pool: int = 50, drop_last: bool = False) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.pool = int(pool)
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for batch in length_grouped_batches(self.lengths, self.batch_size, self.seed,
                                            self.epoch, self.pool, self.drop_last):
            yield self.epoch, batch

    def __len__(self) -> int:
        n = len(self.lengths)
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size
        return -(-n // self.batch_size)
