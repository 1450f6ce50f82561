"""How each word was said: per-word loudness, pitch and duration against the speaker's own
running baseline, and the emphasis that follows from them (issue 20).

``word_prosody(chunks, n_samples, words)`` is what the analyser's "prosody" stage calls:
``features`` measures each word with Praat (praat-parselmouth), ``emphasis`` compares it with its
speaker's baseline and scores it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..document import AnalysedWord
from .emphasis import WordProsody, against_baseline, emphasis_of
from .features import WordMeasure, WordSpan, measure_words, syllables

__all__ = ["WordProsody", "WordMeasure", "WordSpan", "word_prosody", "measure_words", "against_baseline",
           "emphasis_of", "syllables", "apply_prosody"]


def word_prosody(chunks: Sequence[np.ndarray], n_samples: int, spans: Sequence[WordSpan],
                 speakers: Sequence[str | None] | None = None) -> list[WordProsody]:
    """The prosody and emphasis of each word of a 16 kHz recording (held as CHUNK_SAMPLES
    chunks); ``speakers`` gives each word's speaker (None: one baseline for the recording)."""
    measures = measure_words(chunks, n_samples, spans)
    times = [(s.start + s.end) / 2 for s in spans]
    durations = [s.end - s.start for s in spans]
    return against_baseline(measures, times, durations, speakers or [None] * len(spans))


def apply_prosody(chunks: Sequence[np.ndarray], n_samples: int, words: Sequence[AnalysedWord]) -> None:
    """Fill ``prosody``, ``emphasis`` and ``emphasised`` of ``words`` in place, each against the
    baseline of its ``speaker`` (the recording's when speakers were not found)."""
    spans = [WordSpan(w.start, w.end, w.text) for w in words]
    for word, result in zip(words, word_prosody(chunks, n_samples, spans, [w.speaker for w in words])):
        word.prosody, word.emphasis, word.emphasised = result.prosody, result.emphasis, result.emphasised
