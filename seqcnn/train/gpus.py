"""Distinct GPUs for concurrent jobs on one machine, through lock files.

Snakemake counts a ``gpu`` resource but does not say *which* GPU a job gets: two training
jobs started side by side both see every GPU and both use ``cuda:0``. :func:`claim_gpus`
picks free device indices and sets ``CUDA_VISIBLE_DEVICES`` to them while it is held::

    with claim_gpus(2) as ids:          # e.g. [1, 3]; CUDA_VISIBLE_DEVICES="1,3"
        subprocess.run(launch_command([...], 2), check=True)

Each index ``i`` has a lock file ``gpu{i}.lock`` under the lock directory (default
``$TMPDIR/seqcnn-gpu-locks``, else the system temporary directory); a claim holds an
exclusive ``fcntl.flock`` on each of its files. The kernel drops the locks when the
holder exits, even if it is killed, so nothing is left to clean up. Locks are advisory:
only jobs that claim through this module are kept apart.

When fewer than ``n`` indices are free, the claim releases what it holds (so that two
waiting jobs cannot deadlock on partial sets), sleeps ``poll`` seconds and tries again, up
to ``timeout`` seconds; then it raises :class:`GPUClaimTimeout` naming the busy indices and
their holders' process ids. ``timeout=0`` fails at once; ``timeout=None`` waits for ever.

No-ops (nothing claimed, the environment unchanged, ``[]`` yielded):

- ``CUDA_VISIBLE_DEVICES`` is already set (SLURM sets it for jobs with ``--gpus``; a
  scheduler or a person chose the devices);
- no GPU (``n_available`` is 0; by default ``torch.cuda.device_count()``) or ``n == 0``.

Claim before the process uses CUDA: a CUDA runtime already initialised ignores later
changes to ``CUDA_VISIBLE_DEVICES`` (child processes still see them).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ENV = "CUDA_VISIBLE_DEVICES"
LOCK_DIR_NAME = "seqcnn-gpu-locks"


class GPUClaimTimeout(TimeoutError):
    """Fewer than the requested number of GPUs became free within the timeout."""


def default_lock_dir() -> Path:
    """``$TMPDIR/seqcnn-gpu-locks`` (the system temporary directory without ``TMPDIR``)."""
    return Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / LOCK_DIR_NAME


def gpu_count() -> int:
    """Number of CUDA devices torch sees (0 without CUDA); does not initialise CUDA when
    NVML is available, so ``CUDA_VISIBLE_DEVICES`` can still be set afterwards."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count())


def _open_lock(lock_dir: Path, index: int) -> int | None:
    """An open file descriptor of ``gpu{index}.lock`` (created world-writable), or None
    when the file cannot be opened (another user's file: treated as busy)."""
    path = lock_dir / f"gpu{index}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        return None
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666)
    return fd


def _try_lock(lock_dir: Path, index: int) -> int | None:
    """Lock ``gpu{index}.lock`` without waiting: its descriptor, or None if it is held."""
    fd = _open_lock(lock_dir, index)
    if fd is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _release(fds: dict[int, int]) -> None:
    for fd in fds.values():
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    fds.clear()


def _holders(lock_dir: Path, indices: list[int]) -> str:
    """``index (pid N)`` for each of ``indices``, from the lock files (for messages)."""
    out = []
    for i in indices:
        try:
            pid = (lock_dir / f"gpu{i}.lock").read_text().strip() or "?"
        except OSError:
            pid = "?"
        out.append(f"{i} (pid {pid})")
    return ", ".join(out)


def _make_lock_dir(lock_dir: Path) -> None:
    if not lock_dir.is_dir():
        lock_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # shared by all users, like /tmp
            os.chmod(lock_dir, 0o1777)


def try_claim(n: int, n_available: int, lock_dir: Path) -> dict[int, int] | None:
    """One attempt: lock the first ``n`` free indices of ``range(n_available)``;
    ``{index: fd}``, or None (nothing held) when fewer than ``n`` are free."""
    held: dict[int, int] = {}
    for i in range(n_available):
        fd = _try_lock(lock_dir, i)
        if fd is not None:
            held[i] = fd
            if len(held) == n:
                return held
    _release(held)
    return None


@contextlib.contextmanager
def claim_gpus(n: int = 1, n_available: int | None = None,
               lock_dir: str | os.PathLike | None = None, *, timeout: float | None = 600.0,
               poll: float = 1.0) -> Iterator[list[int]]:
    """Hold ``n`` distinct free GPU indices and set ``CUDA_VISIBLE_DEVICES`` to them.

    Yields the claimed indices (``[]`` for the no-ops in the module docstring). On exit the
    locks are released and ``CUDA_VISIBLE_DEVICES`` is removed again. Waits up to
    ``timeout`` seconds (polling every ``poll`` s) for enough free indices, then raises
    :class:`GPUClaimTimeout`; ``n > n_available`` raises ``ValueError`` at once.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if os.environ.get(ENV) is not None or n == 0:
        yield []
        return
    available = gpu_count() if n_available is None else int(n_available)
    if available <= 0:
        yield []
        return
    if n > available:
        raise ValueError(f"{n} GPUs requested but this machine has {available}")
    directory = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    _make_lock_dir(directory)
    deadline = None if timeout is None else time.monotonic() + timeout
    while (held := try_claim(n, available, directory)) is None:
        if deadline is not None and time.monotonic() >= deadline:
            busy = [i for i in range(available) if not _probe_free(directory, i)]
            raise GPUClaimTimeout(
                f"could not claim {n} of {available} GPUs within {timeout:g} s: busy "
                f"{_holders(directory, busy) or 'none now'} (lock files in {directory}). "
                "Run fewer GPU jobs at once (snakemake --resources gpu=N), or set "
                f"{ENV} to choose devices by hand.")
        wait = poll if deadline is None else min(poll, max(0.0, deadline - time.monotonic()))
        time.sleep(wait)
    os.environ[ENV] = ",".join(map(str, held))
    try:
        yield list(held)
    finally:
        os.environ.pop(ENV, None)
        _release(held)


def _probe_free(lock_dir: Path, index: int) -> bool:
    """Whether ``gpu{index}.lock`` is free right now (locks and releases it at once)."""
    fd = _try_lock(lock_dir, index)
    if fd is None:
        return False
    _release({index: fd})
    return True


__all__ = ["ENV", "GPUClaimTimeout", "claim_gpus", "default_lock_dir", "gpu_count",
           "try_claim"]
