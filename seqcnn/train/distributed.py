"""Data-parallel training across several GPUs (or CPU processes) with ``torchrun``.

``train: {gpus: N}`` with ``N > 1`` means: start the training script with
``torchrun --standalone --nproc_per_node N`` (see :func:`launch_command`). torchrun sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` in each of the ``N`` processes;
:func:`seqcnn.train.loop.train` reads them (:func:`from_env`), initialises
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

From Python, :func:`run_distributed` writes ``train()``'s arguments to a JSON file and starts
``torchrun ... -m seqcnn.train.cli --args FILE`` (see :mod:`seqcnn.train.cli`), holding free
GPUs while it runs (:mod:`seqcnn.train.gpus`) and appending its output to a log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from seqcnn.errors import SeqcnnError


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
    """The command line that runs ``script_args`` (a script and its arguments, or ``-m``,
    a module and its arguments) in ``nproc`` processes on this machine: ``python -m
    torch.distributed.run --standalone --nproc_per_node nproc ...`` (the same as
    ``torchrun``, whose ``-m`` runs a module like ``python -m``); ``nproc <= 1`` runs it
    plainly."""
    python = python or sys.executable
    if nproc <= 1:
        return [python, *map(str, script_args)]
    return [python, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={int(nproc)}", *map(str, script_args)]


def launch_shell(script_args: Sequence[str], nproc: int) -> str:
    """:func:`launch_command` as one shell-quoted string (for a Snakemake ``shell:``)."""
    return shlex.join(launch_command(script_args, nproc))


#: Variables of an enclosing torchrun job, removed from the environment of a new one.
_TORCHRUN_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK",
                 "ROLE_RANK", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                 "TORCHELASTIC_RUN_ID", "TORCHELASTIC_RESTART_COUNT",
                 "TORCHELASTIC_MAX_RESTARTS")


class DistributedTrainingError(SeqcnnError, RuntimeError):
    """A training job started by :func:`run_distributed` exited with an error; the message
    is the first worker's plain ``FAILED`` message, or says where torchrun's output is."""


def _jsonable(value: Any) -> Any:
    """Paths as strings, dataclasses (``TrainPaths``) and mappings as objects, tuples as
    lists: what :mod:`seqcnn.train.cli` reads back."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _child_env(log: Path | None = None) -> dict[str, str]:
    """This environment without an enclosing torchrun job's variables, with the directory
    holding the ``seqcnn`` package first on ``PYTHONPATH`` (conda envs do not install it)
    and ``SEQCNN_OUTPUT_LOG`` naming the file the workers' output goes to."""
    env = {k: v for k, v in os.environ.items() if k not in _TORCHRUN_ENV}
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    if log is not None:
        env["SEQCNN_OUTPUT_LOG"] = os.fspath(log)
    return env


_FAILED = re.compile(r" ERROR FAILED: (.+)$")


def _failure(log: Path, start: int, code: int, cmd: Sequence[str]) -> str:
    """Why the job writing to ``log`` from byte ``start`` on failed: the first worker's
    ``FAILED`` line (:func:`seqcnn.train.cli.report_failure`), or where to look."""
    try:
        with open(log, "rb") as fh:
            fh.seek(start)
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        found = _FAILED.search(line)
        if found:
            return found.group(1).strip()
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    return (f"training under torchrun failed (exit status {code}) before a worker said why "
            f"(killed, out of memory, or torchrun itself failed); the output of torchrun and "
            f"its workers is in {log}" + (f", last line: {last[:300]}" if last else "")
            + f"; the command was: {shlex.join(cmd)}")


def run_distributed(job: Mapping[str, Any], nproc: int, log_path: str | os.PathLike, *,
                    args_path: str | os.PathLike | None = None, claim_gpus: bool = True,
                    python: str | None = None) -> None:
    """Train in ``nproc`` processes: ``python -m torch.distributed.run --standalone
    --nproc_per_node nproc -m seqcnn.train.cli --args ARGS`` (one plain process when
    ``nproc <= 1``).

    ``job`` holds :func:`seqcnn.train.loop.train`'s arguments as :mod:`seqcnn.train.cli`
    reads them (paths, not arrays); it is written to ``args_path`` (default: ``log_path``
    + ``.args.json``) without its ``log`` key: the processes' output (log lines,
    warnings, tracebacks, torchrun's messages) is appended to ``log_path`` instead. With
    ``claim_gpus`` and a train device other than ``cpu``/``mps``, ``nproc`` free GPUs are
    held while it runs (:func:`seqcnn.train.gpus.claim_gpus`; a no-op without GPUs or with
    ``CUDA_VISIBLE_DEVICES`` set). A non-zero exit raises :class:`DistributedTrainingError`
    with the first failing worker's plain message (its traceback stays in ``log_path``).
    """
    from seqcnn.train.gpus import claim_gpus as claim

    log = Path(log_path)
    log.parent.mkdir(parents=True, exist_ok=True)
    args_file = Path(args_path) if args_path is not None else Path(f"{log}.args.json")
    spec = {k: v for k, v in _jsonable(job).items() if k != "log"}
    args_file.parent.mkdir(parents=True, exist_ok=True)
    args_file.write_text(json.dumps(spec, indent=2) + "\n")
    cmd = launch_command(["-m", "seqcnn.train.cli", "--args", args_file], nproc, python)
    device = str((spec.get("config") or {}).get("device", "auto"))
    gpus = (claim(max(1, nproc)) if claim_gpus and device not in ("cpu", "mps")
            else contextlib.nullcontext([]))
    with gpus, open(log, "a") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        out.flush()
        start = out.tell()
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                              env=_child_env(log)).returncode
    if code:
        raise DistributedTrainingError(_failure(log, start, code, cmd))


__all__ = ["DistInfo", "DistributedTrainingError", "from_env", "init", "launch_command",
           "launch_shell", "run_distributed"]
