"""What the command modules share: the stderr console, the choices options take, the
environment variable naming the training corpora, and plain help (``Group``: help text is never
read as markup, so ``pip install 'sentimentogram[ray]'`` prints as written; arguments read
``INPUT...`` in usage lines). Errors are not handled here: ``cli.main`` is the one place they become exit codes."""

from __future__ import annotations

from enum import Enum

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperGroup

from ..constants import AGE_GROUPS, CULTURES
from ..devices import DEVICES
from ..transcription.transcribe import BACKENDS

__all__ = ["console", "DATA_ENV", "Group", "typer_app", "Culture", "AgeGroup", "Device", "Backend"]

console = Console(stderr=True)  # progress, notes and errors; summaries and tables go to stdout
DATA_ENV = "SENTIMENTOGRAM_DATA"  # the training corpora folder, when --data is not given

# Choices made from the library's own tuples (one list of names); mypy cannot see their members.
Culture = Enum("Culture", {c: c for c in CULTURES}, type=str)  # type: ignore[misc]
AgeGroup = Enum("AgeGroup", {a: a for a in AGE_GROUPS}, type=str)  # type: ignore[misc]
Device = Enum("Device", {d: d for d in DEVICES}, type=str)  # type: ignore[misc]
Backend = Enum("Backend", {b: b for b in BACKENDS}, type=str)  # type: ignore[misc]


class _PlainArgument(TyperArgument):
    """An argument as click shows it: ``INPUT...`` (``[INPUT]`` when optional), no type column."""

    def get_usage_pieces(self, ctx) -> list[str]:
        name = self.metavar or (self.name or "").upper()
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return [name if self.required else f"[{name}]"]

    def display_type_rich(self, ctx) -> None:  # Typer's <list[str]>: the help says what it takes
        return None


class Group(TyperGroup):
    """The command groups: every command's arguments shown plainly (``_PlainArgument``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            for param in command.params:
                if type(param) is TyperArgument:
                    param.__class__ = _PlainArgument


def typer_app(**settings) -> typer.Typer:
    """A Typer app with plain help: no Rich markup in help strings, arguments as ``Group`` shows them."""
    return typer.Typer(cls=Group, rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False,
                       **settings)
