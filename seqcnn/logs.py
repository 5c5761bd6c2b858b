"""Logging for workflow scripts: one logger writing to the rule's log file and stderr,
and one handler that ends the log with the reason a script failed."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from seqcnn.errors import SeqcnnError, Terminated

_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")


def get_logger(name: str, logfile: str | os.PathLike | None = None,
               handle_errors: bool = True) -> logging.Logger:
    """A logger named ``name`` writing ``time level message`` lines to ``logfile``
    (truncated; DEBUG and up) and to stderr (INFO and up). Calling it again replaces the
    handlers.

    With ``handle_errors`` (the default) an uncaught exception in the process is written
    by :func:`log_failure`: the traceback at DEBUG level in the log file, then one plain
    ERROR line, the last line of the log and the one line on the console. SIGTERM (a
    cancelled job, a time limit) then raises :class:`~seqcnn.errors.Terminated`, so it too
    ends the log with that line.
    """
    logger = logging.getLogger(f"seqcnn.{name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [console]
    if logfile:
        handlers.append(logging.FileHandler(logfile, mode="w"))
    for h in handlers:
        h.setFormatter(_FORMAT)
        logger.addHandler(h)
    if handle_errors:
        def hook(kind: type[BaseException], err: BaseException,
                 tb: TracebackType | None) -> None:
            if issubclass(kind, KeyboardInterrupt):
                sys.__excepthook__(kind, err, tb)
                return
            log_failure(logger, err)

        sys.excepthook = hook
        _stop_on_sigterm()
    return logger


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into :class:`~seqcnn.errors.Terminated`, so that a cancelled or timed-out
    job unwinds and its log ends with a FAILED line saying why. Main thread only (Python
    delivers signals there); elsewhere the default action stays, and a forked child (a
    DataLoader worker) that gets SIGTERM dies of it as before."""
    if threading.current_thread() is not threading.main_thread():
        return
    owner = os.getpid()

    def stop(signum: int, frame: Any) -> None:
        if os.getpid() != owner:  # a forked child (a DataLoader worker): die as it used to
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated(
            "stopped by SIGTERM: the job was cancelled or ran past its time limit (on SLURM, "
            "raise the rule's runtime in minutes: --set-resources <rule>:runtime=<minutes>; "
            "a training job resumes from its last checkpoint when snakemake runs again)")

    signal.signal(signal.SIGTERM, stop)


def failure_message(err: BaseException, traceback_at: str = "above, at DEBUG level") -> str:
    """The one plain line a user reads: a :class:`SeqcnnError`'s message as it is; any
    other error with its type, and where its traceback is (``traceback_at``)."""
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, SeqcnnError):
        return text
    if isinstance(err, (FileNotFoundError, EOFError, ValueError, KeyError, OSError)):
        return f"{type(err).__name__}: {text} (the traceback is {traceback_at})"
    return (f"{type(err).__name__}: {text}. This looks like a bug in seqcnn; the traceback "
            f"is {traceback_at}: please report it with this log")


def log_failure(logger: logging.Logger, err: BaseException) -> None:
    """Write ``err``: traceback at DEBUG (log file only), then one ERROR line (log file and
    console): the last line of the rule's log."""
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    logger.debug("traceback:\n%s", tb.rstrip())
    logger.error("FAILED: %s", failure_message(err))
    for h in logger.handlers:
        h.flush()
