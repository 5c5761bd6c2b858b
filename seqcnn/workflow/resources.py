"""Resource estimates from the size of the input: disk, memory and time per rule.

Units: sizes on disk in bytes; memory in MB of 10^6 bytes (as Snakemake's ``mem_mb``);
time in seconds. Memory figures are rough upper estimates of a rule's peak resident
*anonymous* memory (heap, arrays, tensors), calibrated on ``benchmarks/scale.py`` (CPU,
torch CPU build): the memory-mapped cache's file pages that a job touches show up in its
RSS too, but they are clean page cache that the kernel reclaims under a memory limit, so
they are left out unless asked for (``mapped=True``).

>>> cache_bytes(1_000_000, 500)          # one-hot only, 4 letters
2000000000
>>> print(format_estimate(1_000_000, 500, n_tasks=2, epoch_s=310))   # doctest: +SKIP
cache 2.0 GB on disk; build_cache ~917 MB RAM; train_model ~1,126 MB RAM; evaluate_model
~1,480 MB RAM; interpret ~4,933 MB RAM; train ~310 s/epoch on cpu
"""

from __future__ import annotations

import gzip
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Rules :func:`estimate_mem_mb` knows.
RULES = ("build_cache", "train_model", "evaluate_model", "interpret")

MB = 1_000_000
#: Interpreter + numpy + pandas after imports (build_cache), MB.
PYTHON_BASE_MB = 130
#: Interpreter + torch + scikit-learn + numpy + pandas after imports, MB.
TORCH_BASE_MB = 480
#: pandas memory per region row held as a table (object columns: chrom, name, strand...).
TABLE_ROW_BYTES = 400
#: Per-row memory of train_model: the epoch's permutation (16 B) and, measured on
#: ``benchmarks/scale.py`` (100,000 → 1,000,000 rows), about 100 B more of heap growth.
TRAIN_ROW_BYTES = 120
#: Per-row costs of evaluate_model beyond the table: scores, the predictions table with
#: one region-id string per row and task, per-chromosome groups (bytes per row and task).
EVAL_ROW_TASK_BYTES = 300

_BLOCK = 1 << 20


# --------------------------------------------------------------------------- disk


def _npy_header_bytes(shape: tuple[int, ...], dtype: Any = np.uint8) -> int:
    """Length of the ``.npy`` (version 1.0) header that :class:`seqcnn.data.cache.NpyWriter`
    writes for ``shape``: magic, version, length field and the padded dict, in bytes."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": tuple(int(s) for s in shape)}
    text = repr(header)
    unpadded = 6 + 2 + 2 + len(text) + 1  # magic, version, uint16 length, dict, "\n"
    return unpadded + (-unpadded) % 64


def cache_bytes(n_regions: int, seq_len: int, alphabet_size: int = 4, n_tasks: int = 0,
                headers: bool = False) -> int:
    """Bytes of one cache split: ``uint8`` one-hot ``(N, A, L)`` plus labels ``(N, T)``.

    Without ``headers`` this is :attr:`seqcnn.data.cache.CacheStats.bytes`; with them, the exact
    sizes of the two ``.npy`` files on disk.
    """
    if min(n_regions, seq_len, alphabet_size, n_tasks) < 0:
        raise ValueError("sizes must be >= 0")
    data = n_regions * alphabet_size * seq_len + n_regions * n_tasks
    if headers:
        data += _npy_header_bytes((n_regions, alphabet_size, seq_len))
        data += _npy_header_bytes((n_regions, n_tasks))
    return int(data)


def count_lines(path: str | os.PathLike, data_only: bool = False) -> int:
    """Number of lines of a text file, plain or gzipped (a last line without a newline
    counts). With ``data_only``, blank lines and BED ``#``/``track``/``browser`` lines are
    not counted. Reads 1 MiB blocks: memory is constant."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    if data_only:
        skip = (b"#", b"track", b"browser")
        with opener(path, "rb") as fh:
            return sum(1 for line in fh if line.strip() and not line.lstrip().startswith(skip))
    n, last = 0, b"\n"
    with opener(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


# --------------------------------------------------------------------------- memory


def model_parameters(model_config: Mapping[str, Any], seq_len: int, alphabet_size: int = 4,
                     n_tasks: int = 1) -> int:
    """Number of trainable parameters of ``build_model(model_config)``."""
    from seqcnn.models import build_model, count_parameters

    return int(count_parameters(build_model(model_config, alphabet_size, n_tasks, seq_len)))


def activation_bytes(model_config: Mapping[str, Any], seq_len: int, batch_size: int,
                     alphabet_size: int = 4, n_tasks: int = 1) -> int:
    """float32 bytes of all layer outputs of one training batch (what autograd keeps for
    the backward pass), from a forward pass on torch's ``meta`` device (no memory, no
    compute). Models that cannot run on ``meta`` (LSTMs) get ``batch x seq_len x
    widest layer x (layers + 2) x 4``."""
    import torch

    from seqcnn.models import build_model

    model = build_model(model_config, alphabet_size, n_tasks, seq_len)
    total = [0]

    def hook(module: Any, inputs: Any, out: Any) -> None:
        out = out[0] if isinstance(out, tuple) else out
        if isinstance(out, torch.Tensor):
            total[0] += out.numel()

    try:
        model = model.to("meta").train()
        leaves = [m for m in model.modules() if not list(m.children())]
        handles = [m.register_forward_hook(hook) for m in leaves]
        try:
            model(torch.zeros(batch_size, alphabet_size, seq_len, dtype=torch.uint8,
                              device="meta"))
        finally:
            for h in handles:
                h.remove()
        return 4 * total[0]
    except (RuntimeError, NotImplementedError):
        width = max(np.atleast_1d(model_config.get("filters", 64)).tolist() + [64])
        layers = int(model_config.get("layers", 3))
        return 4 * batch_size * seq_len * int(width) * (layers + 2)


def estimate_mem_mb(rule: str, n_regions: int, seq_len: int, *, alphabet_size: int = 4,
                    n_tasks: int = 1, chunk_size: int = 4096, in_flight: int = 2,
                    largest_chrom: int = 250_000_000, batch_size: int = 128,
                    model_config: Mapping[str, Any] | None = None, n_valid: int | None = None,
                    n_top: int = 200, n_shuffles: int = 10, mapped: bool = False) -> int:
    """Peak memory of ``rule`` (one of :data:`RULES`) for ``n_regions`` of ``seq_len``, MB.

    - ``build_cache`` streams: base + ``in_flight + 2`` chunks of ``chunk_size`` regions
      (one-hot, windows, table rows) + one chromosome (``largest_chrom`` bp, read and
      stripped of newlines: about 3 bytes per bp at the peak). Flat in ``n_regions``.
    - ``train_model`` (``n_regions`` = training split): base + parameters (weights,
      gradients, Adam moments, best and checkpoint copies) + one batch's activations
      (x 1.5 for the backward pass) + :data:`TRAIN_ROW_BYTES` per row + labels +
      validation logits (``n_valid``, default ``n_regions // 10``).
    - ``evaluate_model`` (test split): base + the region table + per row and task scores
      and the predictions table (:data:`EVAL_ROW_TASK_BYTES`).
    - ``interpret`` (test split, attribute_sequences): base + table + the per-position
      completeness check over all rows (8 bytes per position) + logits + attributions of
      ``n_top`` sequences per task with ``n_shuffles`` references.

    ``mapped`` adds the memory-mapped cache split (``cache_bytes``): pages a job touches
    count in its RSS, though the kernel can reclaim them.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; one of {', '.join(RULES)}")
    if n_regions < 0 or seq_len <= 0:
        raise ValueError("n_regions must be >= 0 and seq_len > 0")
    row = alphabet_size * seq_len
    cache = cache_bytes(n_regions, seq_len, alphabet_size, n_tasks) if mapped else 0
    if rule == "build_cache":
        chunk = chunk_size * (row * (in_flight + 2) + seq_len + TABLE_ROW_BYTES)
        total = PYTHON_BASE_MB * MB + chunk + 3 * largest_chrom + n_tasks * 8
    elif rule == "train_model":
        config = model_config or {"arch": "dilated"}
        params = model_parameters(config, seq_len, alphabet_size, n_tasks)
        acts = activation_bytes(config, seq_len, batch_size, alphabet_size, n_tasks)
        valid = n_regions // 10 if n_valid is None else n_valid
        total = (TORCH_BASE_MB * MB + 4 * params * 7 + 1.5 * acts + 2 * batch_size * row * 4
                 + TRAIN_ROW_BYTES * n_regions + n_regions * n_tasks + valid * (n_tasks * 12 + 8)
                 + cache)
    elif rule == "evaluate_model":
        total = (TORCH_BASE_MB * MB + n_regions * TABLE_ROW_BYTES
                 + n_regions * n_tasks * EVAL_ROW_TASK_BYTES + cache)
    else:
        attr = n_top * n_tasks * row * 4 * (4 + n_shuffles)
        total = (TORCH_BASE_MB * MB + n_regions * (TABLE_ROW_BYTES + 8 * seq_len
                                                   + 4 * n_tasks) + attr + cache)
    return int(math.ceil(total / MB))


# --------------------------------------------------------------------------- time


def epoch_seconds(n: int, seq_len: int, model_config: Mapping[str, Any],
                  device: Any = "cpu", *, alphabet_size: int = 4, n_tasks: int = 1,
                  batch_size: int = 128, batches: int = 3, precision: str = "auto",
                  rc_augment: bool | None = None, seed: int = 0) -> float:
    """Seconds for one training epoch over ``n`` sequences, from a timed probe.

    Builds the model on ``device`` (``auto``, ``cpu``, ``cuda``...), runs one untimed
    warm-up step, then times ``batches`` steps on random one-hot sequences held in memory:
    batch assembly as in training
    (:meth:`seqcnn.train.datasets.CacheDataset.get_batch`, with reverse
    complement augmentation when ``rc_augment``, default for 4 letters), copy to the
    device, forward, loss, backward, Adam. Scales the time per sequence to ``n``. Uses
    torch's current thread count. Not included: reading a cache larger than the page cache
    from disk, and validation.
    """
    import torch
    from torch import nn

    from seqcnn.models import build_model
    from seqcnn.train.datasets import CacheDataset
    from seqcnn.train.loop import autocast, resolve_device, resolve_precision

    dev = resolve_device(device) if isinstance(device, str) else torch.device(device)
    prec = resolve_precision(precision, dev)
    steps = max(1, batches)
    rng = np.random.default_rng(seed)
    rows = batch_size * (steps + 1)
    codes = rng.integers(0, alphabet_size, size=(rows, seq_len))
    onehot = (codes[:, None, :] == np.arange(alphabet_size)[None, :, None]).astype(np.uint8)
    labels = (rng.random((rows, n_tasks)) < 0.3).astype(np.uint8)
    augment = alphabet_size == 4 if rc_augment is None else rc_augment
    data = CacheDataset(onehot, labels, rc_augment=augment, seed=seed)
    torch.manual_seed(seed)
    model = build_model(model_config, alphabet_size, n_tasks, seq_len).to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.BCEWithLogitsLoss()

    def step(b: int) -> None:
        x, y = data.get_batch(rng.permutation(rows)[:batch_size], epoch=b)
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True).float()
        with autocast(dev, prec):
            out = model(x)
        loss = criterion(out.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    step(0)
    sync()
    t0 = time.perf_counter()
    for b in range(1, steps + 1):
        step(b)
    sync()
    return (time.perf_counter() - t0) / (steps * batch_size) * n


# --------------------------------------------------------------------------- report


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.1f} MB"


def format_estimate(n_regions: int, seq_len: int, *, alphabet_size: int = 4,
                    n_tasks: int = 1, model_config: Mapping[str, Any] | None = None,
                    batch_size: int = 128, epoch_s: float | None = None,
                    device: str = "cpu", **mem_kwargs: Any) -> str:
    """A human-readable line for ``n_regions`` of ``seq_len`` (one split, all rules)::

        cache 2.0 GB on disk; build_cache ~917 MB RAM; train_model ~1,126 MB RAM;
        evaluate_model ~1,480 MB RAM; interpret ~4,933 MB RAM; train ~310 s/epoch on cpu

    ``epoch_s`` (from :func:`epoch_seconds`) adds the time; ``mem_kwargs`` go to
    :func:`estimate_mem_mb`.
    """
    size = cache_bytes(n_regions, seq_len, alphabet_size, n_tasks)
    parts = [f"cache {_gb(size)} on disk"]
    for rule in RULES:
        mb = estimate_mem_mb(rule, n_regions, seq_len, alphabet_size=alphabet_size,
                             n_tasks=n_tasks, model_config=model_config,
                             batch_size=batch_size, **mem_kwargs)
        parts.append(f"{rule} ~{mb:,} MB RAM")
    if epoch_s is not None:
        parts.append(f"train ~{epoch_s:,.0f} s/epoch on {device}")
    return "; ".join(parts)


__all__ = [
    "RULES",
    "activation_bytes",
    "cache_bytes",
    "count_lines",
    "epoch_seconds",
    "estimate_mem_mb",
    "format_estimate",
    "model_parameters",
]
