"""Command-line entry point to :func:`seqcnn.train.loop.train`, with its arguments in JSON.

    python -m seqcnn.train.cli --args job.json
    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m seqcnn.train.cli --args job.json          # data-parallel (see seqcnn.train.distributed)

The JSON object's keys are :func:`~seqcnn.train.loop.train`'s own parameter names:

- ``model_config`` (object), ``train_data`` and ``valid_data`` (a cache split,
  ``{"cache": dir, "split": "train"}``, read with :func:`seqcnn.data.cache.load_split`; or
  lists of ``.npy`` paths ``[onehot, labels]``, or any form ``train`` accepts),
  ``config`` (the train settings);
- optional ``out_dir``, ``paths`` (an object with ``model``, ``summary``, ``log``,
  ``checkpoint``: :class:`~seqcnn.train.loop.TrainPaths`), ``tasks``, ``alphabet``,
  ``threads``, ``resume``, ``progress`` (default false here), and any other keyword ``train``
  accepts whose value is plain JSON;
- ``kwargs``: an object passed to ``train`` as keyword arguments as it is (for keywords
  this module does not know about);
- ``log``: a file the log lines are appended to (besides stderr);
- ``claim_gpus`` (default true): in a process not started by torchrun and not told to use
  the CPU, hold one free GPU while training (:func:`seqcnn.train.gpus.claim_gpus`).

``threads`` also sets torch's CPU threads, divided among the torchrun processes.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Keys of the JSON that are not keywords of ``train``.
OWN_KEYS = ("log", "kwargs", "claim_gpus")


def read_job(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object in ``path``; raises ``ValueError`` naming the file if it is not one."""
    with open(path) as fh:
        job = json.load(fh)
    if not isinstance(job, dict):
        raise ValueError(f"{path}: expected a JSON object of train() arguments")
    return job


def train_arguments(job: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """``(args, kwargs)`` for :func:`seqcnn.train.loop.train` from a job mapping.

    Unknown keys raise ``ValueError`` naming the valid ones (keys under ``kwargs`` are
    passed through unchecked); ``paths`` becomes a :class:`~seqcnn.train.loop.TrainPaths`.
    """
    from seqcnn.train.loop import TrainPaths, train

    params = inspect.signature(train).parameters
    positional = [n for n, p in params.items()
                  if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
    unknown = sorted(set(job) - set(params) - set(OWN_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}; valid keys: "
                         f"{', '.join(sorted(set(params) | set(OWN_KEYS)))}")
    missing = [n for n in positional if n not in job]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    kwargs = {k: v for k, v in job.items() if k not in positional and k not in OWN_KEYS}
    if isinstance(kwargs.get("paths"), Mapping):
        kwargs["paths"] = TrainPaths(**kwargs["paths"])
    kwargs.setdefault("progress", False)
    kwargs.update(job.get("kwargs") or {})
    return [job[n] for n in positional], kwargs


def make_logger(log_file: str | os.PathLike | None) -> logging.Logger:
    """Logger ``seqcnn.train.cli`` writing ``time level message`` to stderr and, if given,
    appending to ``log_file`` (appending: every torchrun process writes to it)."""
    logger = logging.getLogger("seqcnn.train.cli")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger


def _gpu_claim(job: Mapping[str, Any], world_size: int) -> contextlib.AbstractContextManager:
    """One GPU for a lone process that may use CUDA; a no-op otherwise."""
    from seqcnn.train.gpus import claim_gpus

    device = str((job.get("config") or {}).get("device", "auto"))
    if world_size > 1 or not job.get("claim_gpus", True) or device in ("cpu", "mps"):
        return contextlib.nullcontext([])
    return claim_gpus(1)


def run(job: Mapping[str, Any]) -> Any:
    """Train as ``job`` says (see the module docstring); the :class:`TrainResult`."""
    import torch

    from seqcnn.train import distributed
    from seqcnn.train.loop import train

    args, kwargs = train_arguments(job)
    log = make_logger(job.get("log"))
    kwargs.setdefault("logger", log)
    info = distributed.from_env()
    world = info.world_size
    if kwargs.get("threads"):
        torch.set_num_threads(max(1, int(kwargs["threads"]) // world))
    with _gpu_claim(job, world) as ids:
        if ids:
            log.info("claimed GPU %s (CUDA_VISIBLE_DEVICES)", ",".join(map(str, ids)))
        result = train(*args, **kwargs)
    if info.is_main:
        log.info("done: best epoch %d of %d, valid auPR %.4f", result.best_epoch,
                 len(result.history), result.best_valid_auprc)
    return result


#: Set by :func:`seqcnn.train.distributed.run_distributed`: the file this process's output goes to.
OUTPUT_LOG_ENV = "SEQCNN_OUTPUT_LOG"


def report_failure(err: BaseException) -> None:
    """The traceback on stderr, then one ``ERROR FAILED: <plain message>`` line (the line
    :func:`seqcnn.train.distributed.run_distributed` finds and raises again in the parent)."""
    from seqcnn.logs import failure_message

    log = logging.getLogger("seqcnn.train.cli")
    if not log.handlers:
        log = make_logger(None)
    where = os.environ.get(OUTPUT_LOG_ENV)
    traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
    sys.stderr.flush()
    rank = os.environ.get("RANK")
    log.error("FAILED: %s", failure_message(
        err, f"in {where}" + (f" (process {rank})" if rank else "") if where else "above"))
    for h in log.handlers:
        h.flush()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seqcnn.train.cli",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--args", required=True, help="JSON file of train() arguments")
    opts = ap.parse_args(argv)
    try:
        run(read_job(opts.args))
    except Exception as err:
        report_failure(err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
