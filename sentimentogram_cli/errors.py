"""Typed errors, each with its own exit code (as httpie's ExitStatus), and the one rule by which
any other exception becomes one of them.

The API raises only these; the command line prints them as one line and exits with their
status. ``as_error`` is the single boundary every entry point (the CLI, a batch, each stage of an
analysis) uses for exceptions nobody foresaw: one line naming the exception, or the traceback
itself when ``SENTIMENTOGRAM_DEBUG`` is set.
"""

from __future__ import annotations

import os
from enum import IntEnum

__all__ = ["DEBUG_ENV", "ExitStatus", "SentimentogramError", "UsageError", "InputError", "MediaError",
           "DocumentError", "NoAudioError", "OutputError", "ModelError", "one_line", "as_error"]

DEBUG_ENV = "SENTIMENTOGRAM_DEBUG"  # set: unexpected exceptions keep their traceback


class ExitStatus(IntEnum):
    """The command line's exit codes; every error class carries its own as ``exit_status``."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2  # Typer/click's own code for bad options
    INPUT_NOT_FOUND = 3
    NOT_MEDIA = 4
    NO_AUDIO_STREAM = 5
    OUTPUT_NOT_WRITABLE = 6
    MODEL_ERROR = 7
    INTERRUPTED = 130


class SentimentogramError(Exception):
    """An error the user can act on: printed as one line, never as a traceback."""

    exit_status = ExitStatus.ERROR


class UsageError(SentimentogramError, ValueError):
    """A bad option or argument value (an unknown culture, a hop longer than the window)."""

    exit_status = ExitStatus.USAGE


class InputError(SentimentogramError):
    """The input does not exist, is a folder, or cannot be read."""

    exit_status = ExitStatus.INPUT_NOT_FOUND


class MediaError(SentimentogramError):
    """The input is not media ffmpeg can read."""

    exit_status = ExitStatus.NOT_MEDIA


class DocumentError(MediaError):
    """A file that should be an analysis document and is not (exit code as for a non-media input)."""


class NoAudioError(SentimentogramError):
    """The media has no audio stream: there is nothing to transcribe."""

    exit_status = ExitStatus.NO_AUDIO_STREAM


class OutputError(SentimentogramError):
    """An output that cannot be written."""

    exit_status = ExitStatus.OUTPUT_NOT_WRITABLE


class ModelError(SentimentogramError):
    """A model that cannot be loaded, or a stage that failed while running one."""

    exit_status = ExitStatus.MODEL_ERROR


def one_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (where Python, torch, CTranslate2 and the hub say what
    went wrong; the lines after it are detail), at most 200 characters; the exception's type name
    when it has no message. The one rule every module uses to shorten a message it did not write."""
    text = str(exc).strip()
    return (text.splitlines()[0].strip() if text else type(exc).__name__)[:200]


def as_error(exc: Exception, context: str = "", kind: type[SentimentogramError] = SentimentogramError
             ) -> SentimentogramError:
    """``exc`` as a typed error: itself when it already is one, else a ``kind`` whose message is
    ``context`` and one line naming the exception. With ``SENTIMENTOGRAM_DEBUG`` set an
    unexpected exception is raised again instead, traceback and all."""
    if isinstance(exc, SentimentogramError):
        return exc
    if os.environ.get(DEBUG_ENV):
        raise exc
    if isinstance(exc, MemoryError):
        return kind(f"{context}out of memory")
    if kind is SentimentogramError:  # nobody foresaw it: say so, and how to see more
        return kind(f"{context}unexpected {type(exc).__name__}: {one_line(exc)} "
                    f"(set {DEBUG_ENV}=1 for the traceback)")
    return kind(f"{context}{type(exc).__name__}: {one_line(exc)}")
