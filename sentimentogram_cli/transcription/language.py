"""Spoken-language detection, once per file, on the speech itself.

Whisper guesses the language from one 30 s window. Given a recording that opens with silence,
music or a jingle, or a short clip padded with silence, that window holds little speech and the
guess is poor. Here the window is filled with the file's speech stretches (``speech``: energy
envelope confirmed by Silero), up to 30 s, and the guess comes with its probability, so a caller
can say when it is unsure and suggest ``--language``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import SAMPLE_RATE

__all__ = ["DETECT_SECONDS", "LanguageGuess", "detect_language"]

DETECT_SECONDS = 30.0


@dataclass
class LanguageGuess:
    code: str
    probability: float
    runners_up: list[tuple[str, float]]  # the next most likely languages
    speech_seconds: float  # how much speech the guess was made on


def detect_language(model, audio: np.ndarray, stretches: list[tuple[float, float]]) -> LanguageGuess:
    """The language of ``audio`` (16 kHz mono) from its speech ``stretches`` (s), at most
    DETECT_SECONDS of them; the whole start of the audio when there is no stretch."""
    pieces, total = [], 0
    limit = int(DETECT_SECONDS * SAMPLE_RATE)
    for a, b in stretches:
        piece = audio[int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)]
        pieces.append(piece[: limit - total])
        total += len(pieces[-1])
        if total >= limit:
            break
    speech = np.concatenate(pieces) if total else np.asarray(audio[:limit], np.float32)
    code, probability, ranked = model.detect_language(audio=np.ascontiguousarray(speech, np.float32))
    return LanguageGuess(code, round(float(probability), 4), [(c, round(float(p), 4)) for c, p in ranked[1:4]],
                         round(len(speech) / SAMPLE_RATE, 2) if total else 0.0)
