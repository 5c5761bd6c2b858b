"""Logging for workflow scripts: one logger writing to the rule's log file and stderr."""

from __future__ import annotations

import logging
import os
import sys


def get_logger(name: str, logfile: str | os.PathLike | None = None) -> logging.Logger:
    """A logger named ``name`` writing ``time level message`` lines to ``logfile``
    (truncated) and to stderr. Calling it again replaces the handlers."""
    logger = logging.getLogger(f"seqcnn.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        handlers.append(logging.FileHandler(logfile, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger
