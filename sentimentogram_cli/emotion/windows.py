"""Windows over the speech, and the way back from window predictions to words.

The emotion head sees a few seconds at a time (default 3.0 s every 1.0 s): long enough for
prosody, short enough to follow a change of tone. Speech is first cut into utterances (runs of
words between pauses of at least ``UTTERANCE_GAP_SECONDS``): no window spans two utterances, an
utterance shorter than a window gets one window of its own, widened into the pauses around it
but never past the middle of a pause (its own silence, never its neighbours' speech; measured
better than repeating its own frames, docs/benchmarks.md), a longer one is windowed within itself. Each word then
takes the overlap-weighted mean of its own utterance's windows (weight = seconds of the word
inside the window). ``layout_windows`` is the older design (windows over the whole speech,
across pauses), kept for comparison in benchmarks/word_accuracy.py. Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..document import Word, WordEmotion
from ..constants import HOP_SECONDS, WINDOW_SECONDS

__all__ = ["Window", "UTTERANCE_GAP_SECONDS", "word_spans", "utterance_ids", "layout_windows",
           "layout_utterance_windows", "overlap_matrix", "window_text", "aggregate_words"]

# A pause at least this long between two words starts a new utterance (chosen on
# benchmarks/word_accuracy.py: docs/benchmarks.md).
UTTERANCE_GAP_SECONDS = 0.3

# Whisper can give a word zero duration (start == end): it still needs a weight, so such a word
# counts as this long, centred on its time.
MIN_WORD_SECONDS = 0.02


@dataclass
class Window:
    """One stretch of audio the head classifies, with the words that overlap it."""

    start: float
    end: float
    word_indices: list[int]  # indices into the flat word list given to layout_windows
    utterance: int | None = None  # the utterance it lies in (None: the whole-speech design)

    @property
    def duration(self) -> float:
        return self.end - self.start


def _check_settings(window: float, hop: float) -> None:
    if not (window > 0 and math.isfinite(window)):
        raise ValueError(f"window must be a positive number of seconds, not {window}")
    if not (hop > 0 and math.isfinite(hop)):
        raise ValueError(f"hop must be a positive number of seconds, not {hop}")
    if hop > window:
        # Gaps between windows would leave words that no window covers.
        raise ValueError(f"hop ({hop} s) must not exceed the window ({window} s)")


def word_spans(words: Sequence[Word]) -> np.ndarray:
    """(n, 2) start/end per word, zero-length words widened to MIN_WORD_SECONDS."""
    spans = np.array([[w.start, max(w.end, w.start)] for w in words], dtype=np.float64).reshape(-1, 2)
    short = spans[:, 1] - spans[:, 0] < MIN_WORD_SECONDS
    centre = spans[short].mean(axis=1)
    spans[short, 0] = centre - MIN_WORD_SECONDS / 2
    spans[short, 1] = centre + MIN_WORD_SECONDS / 2
    return spans


def _fit(start: float, length: float, duration: float | None) -> tuple[float, float]:
    """Shift [start, start+length) into [0, duration], keeping its length where the audio allows."""
    if duration is not None and duration > 0:
        length = min(length, duration)
        start = min(start, duration - length)
    start = max(0.0, start)
    return start, start + length


def overlap_matrix(words: Sequence[Word], windows: Sequence[Window]) -> np.ndarray:
    """(n_words, n_windows) seconds of each word inside each window."""
    if not words or not windows:
        return np.zeros((len(words), len(windows)))
    spans = word_spans(words)
    bounds = np.array([[w.start, w.end] for w in windows], dtype=np.float64)
    lo = np.maximum(spans[:, :1], bounds[None, :, 0])
    hi = np.minimum(spans[:, 1:], bounds[None, :, 1])
    return np.clip(hi - lo, 0.0, None)


def layout_windows(words: Sequence[Word], duration: float | None = None, *,
                   window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS) -> list[Window]:
    """Windows from the first word's start to the last word's end, every ``hop`` seconds.

    Speech shorter than a window gets one window centred on it. Windows are kept inside
    [0, duration] (the audio's length, when given): the last one is shifted back to end there
    rather than shortened, so it still carries a full window of audio. No words → no windows.
    """
    _check_settings(window, hop)
    if not words:
        return []
    spans = word_spans(words)
    first, last = float(spans[:, 0].min()), float(spans[:, 1].max())
    if duration is not None and duration > 0:
        first, last = max(0.0, min(first, duration)), max(0.0, min(last, duration))
    length = last - first
    if length <= window:
        starts = [first + length / 2 - window / 2]
    else:
        # Enough windows that the last one reaches the end of the speech.
        n = math.ceil((length - window) / hop - 1e-9) + 1
        starts = [first + k * hop for k in range(n)]
    bounds = []
    for s in starts:
        b = _fit(s, window, duration)
        if not bounds or b != bounds[-1]:  # shifting the last window back can duplicate one
            bounds.append(b)
    windows = [Window(round(s, 6), round(e, 6), []) for s, e in bounds]
    weights = overlap_matrix(words, windows)
    for j, win in enumerate(windows):
        win.word_indices = [int(i) for i in np.flatnonzero(weights[:, j] > 0)]
    return windows


def utterance_ids(words: Sequence[Word], gap: float = UTTERANCE_GAP_SECONDS) -> list[int]:
    """Per word (in the order given), the index of its utterance: a new one starts where the
    word begins ``gap`` seconds or more after every earlier word has ended."""
    if not gap > 0:
        raise ValueError(f"the utterance gap must be above 0 s, not {gap}")
    spans = word_spans(words)
    order = np.argsort(spans[:, 0], kind="stable")
    ids = [0] * len(words)
    current, reach = -1, -math.inf
    for i in order:
        if spans[i, 0] - reach >= gap - 1e-6:  # times are in ms: 1.2 - 0.9 is a 0.3 s pause
            current += 1
        ids[i] = current
        reach = max(reach, spans[i, 1])
    return ids


SHORT_WINDOWS = ("tile", "context", "span")


def layout_utterance_windows(words: Sequence[Word], utterances: Sequence[int], duration: float | None = None, *,
                             window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
                             short: str = "context") -> list[Window]:
    """Windows inside each utterance (``utterances``: per word, from ``utterance_ids``).

    An utterance no longer than ``window`` gets one window: exactly over it (``short="tile"``:
    the caller fills it to the window's length with its own frames; ``"span"``: left short), or
    widened toward ``window`` seconds into the pauses around it, never past the middle of a pause
    (``"context"``: its own silence, not its neighbours' speech). A longer one gets windows of
    ``window`` seconds every ``hop``, the last one ending where the utterance ends. In utterance
    order."""
    _check_settings(window, hop)
    if short not in SHORT_WINDOWS:
        raise ValueError(f"unknown short-utterance window {short!r}: use one of {', '.join(SHORT_WINDOWS)}")
    if len(words) != len(utterances):
        raise ValueError(f"{len(words)} words but {len(utterances)} utterance ids")
    spans = word_spans(words)
    if duration is not None and duration > 0:
        spans = np.clip(spans, 0.0, duration)
    members: dict[int, list[int]] = {}
    for i, u in enumerate(utterances):
        members.setdefault(int(u), []).append(i)
    order = sorted(members, key=lambda k: spans[members[k], 0].min())
    extent = {u: (float(spans[members[u], 0].min()), float(spans[members[u], 1].max())) for u in order}
    out = []
    for k, u in enumerate(order):
        idx = members[u]
        first, last = extent[u]
        if last - first <= window:
            bounds = [(first, max(last, first + 1e-3))]
            if short == "context":
                lo = (extent[order[k - 1]][1] + first) / 2 if k else 0.0
                hi = (last + extent[order[k + 1]][0]) / 2 if k + 1 < len(order) else (duration or math.inf)
                grow = (window - (last - first)) / 2
                a, b = max(lo, first - grow), min(hi, last + grow)
                bounds = [(a, max(b, a + 1e-3))]
        else:
            n = math.ceil((last - first - window) / hop - 1e-9) + 1
            starts = [first + k * hop for k in range(n - 1)] + [last - window]
            bounds = [(s, s + window) for s in dict.fromkeys(round(s, 6) for s in starts)]
        for a, b in bounds:
            inside = [i for i in idx if spans[i, 0] < b and spans[i, 1] > a]
            out.append(Window(round(a, 6), round(b, 6), inside, utterance=u))
    return out


def window_text(words: Sequence[Word], win: Window) -> str | None:
    """The window's words as one string (Whisper words carry their leading space); None if none."""
    text = "".join(words[i].text for i in win.word_indices).strip()
    return text or None


def aggregate_words(words: Sequence[Word], windows: Sequence[Window], labels: Sequence[str],
                    probabilities: np.ndarray, vad: np.ndarray, gates: np.ndarray,
                    utterances: Sequence[int] | None = None) -> list[WordEmotion]:
    """Per word, the overlap-weighted mean of the window predictions that cover it.

    ``probabilities`` (n_windows, n_labels), ``vad`` (n_windows, 3), ``gates`` (n_windows, 2) as
    [text, audio]. Emotion = argmax of the mean probabilities; confidence = its probability.
    ``utterances`` (per word): a word then takes only windows of its own utterance.
    """
    n_windows = len(windows)
    for name, array, width in (("probabilities", probabilities, len(labels)), ("vad", vad, 3), ("gates", gates, 2)):
        if np.shape(array) != (n_windows, width):
            raise ValueError(f"{name} has shape {np.shape(array)}, expected ({n_windows}, {width})")
    if not words:
        return []
    if not windows:
        raise ValueError("words were given but no windows cover them")
    weights = overlap_matrix(words, windows)
    allowed = np.ones_like(weights, dtype=bool)
    if utterances is not None:
        allowed = np.asarray(utterances)[:, None] == np.array([w.utterance for w in windows])[None, :]
        weights = np.where(allowed, weights, 0.0)
    # A word outside every window (only when the caller's windows do not span the speech) takes
    # the nearest window (of its own utterance, where there is one) rather than a division by zero.
    uncovered = np.flatnonzero(weights.sum(axis=1) <= 0)
    if len(uncovered):
        centres = np.array([(w.start + w.end) / 2 for w in windows])
        spans = word_spans(words)
        for i in uncovered:
            distance = np.abs(centres - spans[i].mean()) + np.where(allowed[i], 0.0, 1e9)
            weights[i, np.argmin(distance)] = 1.0
    weights = weights / weights.sum(axis=1, keepdims=True)
    probs = weights @ np.asarray(probabilities, dtype=np.float64)
    probs /= probs.sum(axis=1, keepdims=True)  # exact distributions despite float32 inputs
    mean_vad = weights @ np.asarray(vad, dtype=np.float64)
    mean_gates = weights @ np.asarray(gates, dtype=np.float64)
    out = []
    for p, v, g in zip(probs, mean_vad, mean_gates):
        best = int(np.argmax(p))
        out.append(WordEmotion(
            emotion=labels[best],
            confidence=_r(p[best]),
            probabilities={label: _r(x) for label, x in zip(labels, p)},
            valence=_r(v[0]), arousal=_r(v[1]), dominance=_r(v[2]),
            text_gate=_r(g[0]), audio_gate=_r(g[1]),
        ))
    return out


def _r(x: float) -> float:
    # Four decimals: more precision than the models have, and a page a third the size.
    return round(float(x), 4)
