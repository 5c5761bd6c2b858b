"""One family of errors for everything seqcnn reports to a user.

Every error a user can cause (a bad input file, a config key, a corrupt model) derives
from :class:`SeqcnnError`. Its message is one plain paragraph: what is wrong, where (file
and line, record, config key) and the fix. :func:`seqcnn.logs.get_logger` installs the
handler that writes it as the last line of the rule's log.

Subclasses also derive from the built-in class callers caught before (``ValueError``,
``OSError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class SeqcnnError(Exception):
    """Base class: the message names what is wrong, where, and how to fix it."""


class ConfigError(SeqcnnError, ValueError):
    """A config key or value that cannot work; the message names the key."""


class InputError(SeqcnnError, ValueError):
    """An input file that cannot be used as it is; the message names the file."""


class EmptyTaskError(InputError):
    """A task left with no positives (in all regions or in one split)."""


class CheckpointError(SeqcnnError, OSError):
    """A model or checkpoint file that cannot be read; the message says how to rebuild it."""


class Terminated(SeqcnnError):
    """The process was told to stop (SIGTERM: a cancelled job, a SLURM time limit)."""


class SeqSetError(InputError):
    """Bad sequence-set input; the message names the file, the record and the fix."""


#: How many examples an error message or report lists.
EXAMPLES = 5


def examples(items: Iterable[object], n: int = EXAMPLES) -> str:
    """``'a', 'b', 'c' … (+k more)``: the first ``n`` items for a message."""
    items = list(items)
    shown = ", ".join(repr(str(i)) for i in items[:n])
    return shown + (f" … (+{len(items) - n} more)" if len(items) > n else "")


def require_file(path: str | os.PathLike, what: str) -> None:
    """:class:`FileNotFoundError` naming ``what`` when ``path`` does not exist."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{what} not found: {path}")
