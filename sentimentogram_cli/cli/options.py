"""What the command modules share: the stderr console, the choices options take and the default
data folder. Errors are not handled here: ``cli.main`` is the one place they become exit codes."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from rich.console import Console

from ..constants import AGE_GROUPS, CULTURES
from ..devices import DEVICES
from ..transcription.transcribe import BACKENDS

__all__ = ["console", "SHARED_DATA", "Culture", "AgeGroup", "Device", "Backend"]

console = Console(stderr=True)  # progress, notes and errors; summaries and tables go to stdout
SHARED_DATA = Path("../shared/data")

Culture = Enum("Culture", {c: c for c in CULTURES}, type=str)
AgeGroup = Enum("AgeGroup", {a: a for a in AGE_GROUPS}, type=str)
Device = Enum("Device", {d: d for d in DEVICES}, type=str)
Backend = Enum("Backend", {b: b for b in BACKENDS}, type=str)
