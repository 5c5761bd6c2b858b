"""Data-parallel training across several GPUs (or CPU processes) with ``torchrun``.

``train: {gpus: N}`` with ``N > 1`` means: start the training script with
``torchrun --standalone --nproc_per_node N`` (see :func:`launch_command`). torchrun sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` in each of the ``N`` processes;
:func:`seqcnn.training.train` reads them (:func:`from_env`), initialises
``torch.distributed`` (``nccl`` on CUDA, ``gloo`` on the CPU), puts process ``LOCAL_RANK`` on
``cuda:LOCAL_RANK`` and wraps the model in ``DistributedDataParallel``.

What stays the same as one process: the global batch is ``batch_size`` rows in the same
seeded order; each process trains on an equal, disjoint slice of it (``batch_size`` must be
divisible by the number of processes), computes the mean loss over its slice, and DDP
averages the gradients, which is the gradient of the mean loss over the global batch. A final
incomplete batch is dropped (as in one process whenever a full batch exists). Process 0
alone validates, writes files and shows progress; the validation results are broadcast so
that every process takes the same learning-rate and early-stopping decisions.

What differs: BatchNorm statistics are synchronised across GPUs (``SyncBatchNorm``) on CUDA
only; on the CPU each process normalises with its own slice. Dropout masks are drawn per
process (seeded by seed, epoch and rank). Floating-point sums are taken in another order, so
the loss curve matches one process within rounding, not bit for bit.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a torchrun job (``world_size == 1``: not distributed)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env(env: Mapping[str, str] | None = None) -> DistInfo:
    """The ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` torchrun sets (defaults: one process)."""
    env = os.environ if env is None else env
    world = int(env.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistInfo()
    rank = int(env["RANK"])
    local = int(env.get("LOCAL_RANK", rank))
    return DistInfo(world, rank, local)


def init(info: DistInfo, device: torch.device) -> bool:
    """Initialise the default process group for ``info`` (``nccl`` for CUDA, else ``gloo``).

    Returns True if this call created it (and the caller should destroy it), False if it
    existed already or ``info`` is not distributed.
    """
    if not info.enabled or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, world_size=info.world_size, rank=info.rank)
    return True


def launch_command(script_args: Sequence[str], nproc: int,
                   python: str | None = None) -> list[str]:
    """The command line that runs ``script_args`` (a script and its arguments) in ``nproc``
    processes on this machine: ``python -m torch.distributed.run --standalone
    --nproc_per_node nproc ...`` (the same as ``torchrun``); ``nproc <= 1`` runs it plainly."""
    python = python or sys.executable
    if nproc <= 1:
        return [python, *map(str, script_args)]
    return [python, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={int(nproc)}", *map(str, script_args)]


def launch_shell(script_args: Sequence[str], nproc: int) -> str:
    """:func:`launch_command` as one shell-quoted string (for a Snakemake ``shell:``)."""
    return shlex.join(launch_command(script_args, nproc))


__all__ = ["DistInfo", "from_env", "init", "launch_command", "launch_shell"]
