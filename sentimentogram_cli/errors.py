"""Typed errors, each with its own exit code (as httpie's ExitStatus)."""

from enum import IntEnum

__all__ = ["ExitStatus", "SentimentogramError", "InputError", "MediaError", "NoAudioError",
           "OutputError", "ModelError"]


class ExitStatus(IntEnum):
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


class InputError(SentimentogramError):
    exit_status = ExitStatus.INPUT_NOT_FOUND


class MediaError(SentimentogramError):
    exit_status = ExitStatus.NOT_MEDIA


class NoAudioError(SentimentogramError):
    exit_status = ExitStatus.NO_AUDIO_STREAM


class OutputError(SentimentogramError):
    exit_status = ExitStatus.OUTPUT_NOT_WRITABLE


class ModelError(SentimentogramError):
    exit_status = ExitStatus.MODEL_ERROR
