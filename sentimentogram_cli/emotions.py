"""The recognition stage: recording + timed words -> per-word emotion, VAD and fusion gates.

The audio encoder runs once over the whole recording and every window slices its own frames;
the windows' texts go through the text encoder in one call and all windows through the head in
batches, so the cost grows with the recording, not with windows × models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .analysis import AnalysedWord, Line, Segment, Word
from .constants import HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS
from .features import frames_for_span
from .windows import Window, aggregate_words, layout_windows, window_text

__all__ = ["WindowInputs", "window_inputs", "recognise"]

# Shares of the stage's progress bar: the audio encoder is most of the work.
_ENCODE_SHARE, _TEXT_SHARE = 0.8, 0.1


@dataclass
class WindowInputs:
    """What the head sees for each window: its text tokens (or None) and normalised frames."""

    windows: list[Window]
    texts: list[str | None]
    text_tokens: list[np.ndarray | None]
    audio_frames: list[np.ndarray]


def window_inputs(audio: np.ndarray, words: Sequence[Word], head, audio_encoder, text_encoder, *,
                  window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
                  progress: Callable[[float], None] | None = None) -> WindowInputs:
    """Lay out the windows and encode both modalities for each of them."""
    duration = len(audio) / SAMPLE_RATE
    windows = layout_windows(words, duration, window=window, hop=hop)
    encode_progress = (lambda f: progress(_ENCODE_SHARE * f)) if progress else None
    frames = head.normalise_recording(audio_encoder.encode(audio, progress=encode_progress))
    audio_frames = [frames_for_span(frames, w.start, w.end) for w in windows]

    texts = [window_text(words, w) for w in windows]
    present = [i for i, t in enumerate(texts) if t is not None]
    # A window without words keeps None: the head masks its text branch (text gate 0).
    text_tokens: list[np.ndarray | None] = [None] * len(windows)
    if present:
        for i, tokens in zip(present, text_encoder.embed([texts[i] for i in present])):
            text_tokens[i] = tokens
    if progress:
        progress(_ENCODE_SHARE + _TEXT_SHARE)
    return WindowInputs(windows, texts, text_tokens, audio_frames)


def recognise(audio: np.ndarray, segments: Sequence[Segment], head, audio_encoder, text_encoder, *,
              window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
              progress: Callable[[float], None] | None = None) -> list[Line]:
    """One ``Line`` per segment, every word carrying its ``WordEmotion``.

    ``audio`` is the whole recording (16 kHz mono float32), ``segments`` the recogniser's
    output for it, ``head`` an ``EmotionHead`` and the encoders those it was trained on.
    ``progress`` receives the fraction done (0..1). No words → an empty list, no model runs.
    """
    words = [w for s in segments for w in s.words]
    if not words:
        if progress:
            progress(1.0)
        return []
    inputs = window_inputs(audio, words, head, audio_encoder, text_encoder,
                           window=window, hop=hop, progress=progress)
    predictions = head.predict(inputs.text_tokens, inputs.audio_frames)
    emotions = aggregate_words(words, inputs.windows, list(head.labels),
                               predictions.probabilities, predictions.vad, predictions.gates)
    if progress:
        progress(1.0)

    lines, k = [], 0
    for segment in segments:
        analysed = []
        for w in segment.words:
            analysed.append(AnalysedWord(text=w.text, start=w.start, end=w.end,
                                         probability=w.probability, emotion=emotions[k]))
            k += 1
        if analysed:
            lines.append(Line(start=segment.start, end=segment.end, words=analysed))
    return lines
