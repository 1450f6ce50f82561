"""What the command modules share: the stderr console, the choices options take, the default
data folder, and the guard that turns an unexpected failure into one line."""

from __future__ import annotations

import os
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from .constants import AGE_GROUPS, CULTURES
from .devices import DEVICES
from .errors import SentimentogramError
from .transcribe import BACKENDS

__all__ = ["console", "SHARED_DATA", "Culture", "AgeGroup", "Device", "Backend", "handled"]

console = Console(stderr=True)  # progress, notes and errors; summaries and tables go to stdout
SHARED_DATA = Path("../shared/data")

Culture = Enum("Culture", {c: c for c in CULTURES}, type=str)
AgeGroup = Enum("AgeGroup", {a: a for a in AGE_GROUPS}, type=str)
Device = Enum("Device", {d: d for d in DEVICES}, type=str)
Backend = Enum("Backend", {b: b for b in BACKENDS}, type=str)


def _unexpected(exc: Exception) -> SentimentogramError:
    """A bug or an unforeseen library failure, as one line (SENTIMENTOGRAM_DEBUG=1 re-raises)."""
    if os.environ.get("SENTIMENTOGRAM_DEBUG"):
        raise exc
    text = str(exc).strip().splitlines()
    return SentimentogramError(f"unexpected {type(exc).__name__}: {text[-1][:200] if text else ''} "
                               "(set SENTIMENTOGRAM_DEBUG=1 for the traceback)")


@contextmanager
def handled():
    """Typed errors and Ctrl-C pass through to cli.main(); anything else becomes one line."""
    try:
        yield
    except (SentimentogramError, KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        raise _unexpected(exc) from exc
