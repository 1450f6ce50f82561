"""Where the speech is: an energy envelope and Silero VAD regions, both in seconds.

Two views of one recording serve two jobs. The energy envelope (10 ms frames, loud relative to
the recording's own speech level) is sharp: word edges are snapped to it and pauses between
utterances are measured on it. Silero VAD (the ONNX model inside the faster-whisper wheel) is
robust to noise and music: its regions say where the recogniser should have found words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import SAMPLE_RATE
from .vad import speech_chunks, speech_probabilities

__all__ = ["Envelope", "envelope", "vad_regions", "merge_regions", "speech_stretches"]

FRAME_SECONDS = 0.01
_FRAME = int(SAMPLE_RATE * FRAME_SECONDS)
# A frame is speech when within RELATIVE_DB of the recording's speech level (the 95th percentile
# of frame energy), NOISE_DB above its noise floor (the 10th percentile) and above FLOOR_DB. Calm
# takes can sit 40 dB below shouted ones in one recording (RAVDESS), hence the wide range.
RELATIVE_DB = -45.0
NOISE_DB = 10.0
FLOOR_DB = -75.0
_BRIDGE_FRAMES = 5  # quiet runs shorter than 50 ms inside a word (stops, plosives) stay speech
_BLOCK_FRAMES = 3000  # frames whose energy is computed together (30 s)


@dataclass
class Envelope:
    """Speech/quiet per 10 ms frame, from frame 0 at time 0."""

    loud: np.ndarray  # bool per frame

    @property
    def duration(self) -> float:
        return len(self.loud) * FRAME_SECONDS

    def frame(self, t: float) -> int:
        return int(min(max(round(t / FRAME_SECONDS), 0), len(self.loud)))

    def speech_seconds(self, start: float, end: float) -> float:
        a, b = self.frame(start), self.frame(end)
        return float(self.loud[a:b].sum()) * FRAME_SECONDS if b > a else 0.0

    def runs(self, start: float = 0.0, end: float | None = None) -> list[tuple[float, float]]:
        """(start, end) of each run of speech frames within [start, end)."""
        a, b = self.frame(start), self.frame(self.duration if end is None else end)
        loud = self.loud[a:b].astype(np.int8)
        if not len(loud):
            return []
        edges = np.diff(np.concatenate([[0], loud, [0]]))
        on, off = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return [((a + i) * FRAME_SECONDS, (a + j) * FRAME_SECONDS) for i, j in zip(on, off)]

    def longest_quiet(self, start: float, end: float) -> tuple[float, float] | None:
        """The longest run of quiet frames strictly inside [start, end) (speech on both sides
        within the span), or None."""
        a, b = self.frame(start), self.frame(end)
        loud = self.loud[a:b]
        if len(loud) < 3 or not loud.any():
            return None
        first, last = int(np.argmax(loud)), len(loud) - int(np.argmax(loud[::-1]))
        runs = [(i, j) for i, j in _runs(~loud[first:last])]
        if not runs:
            return None
        i, j = max(runs, key=lambda r: r[1] - r[0])
        return (a + first + i) * FRAME_SECONDS, (a + first + j) * FRAME_SECONDS

    def next_onset(self, t: float, limit: float) -> float | None:
        """The first speech frame's time in [t, limit), or None."""
        a, b = self.frame(t), self.frame(limit)
        hit = np.flatnonzero(self.loud[a:b])
        return (a + int(hit[0])) * FRAME_SECONDS if len(hit) else None

    def last_offset(self, limit: float, t: float) -> float | None:
        """The end of the last speech frame in [limit, t), or None."""
        a, b = self.frame(limit), self.frame(t)
        hit = np.flatnonzero(self.loud[a:b])
        return (a + int(hit[-1]) + 1) * FRAME_SECONDS if len(hit) else None


def envelope(audio: np.ndarray) -> Envelope:
    """The speech envelope of 16 kHz mono ``audio``."""
    n = len(audio) // _FRAME
    if n == 0:
        return Envelope(np.zeros(0, bool))
    energy = np.empty(n)
    for a in range(0, n, _BLOCK_FRAMES):  # a float64 copy of 30 s at a time, not of a 5-minute piece (77 MB)
        b = min(n, a + _BLOCK_FRAMES)
        energy[a:b] = np.mean(np.asarray(audio[a * _FRAME: b * _FRAME], np.float64).reshape(b - a, _FRAME) ** 2, axis=1)
    db = 10 * np.log10(energy + 1e-12)
    level, noise = np.percentile(db, [95, 10])
    loud = db > max(level + RELATIVE_DB, noise + NOISE_DB, FLOOR_DB)
    # Close short quiet gaps (stop consonants) so a word is one run.
    quiet = _runs(~loud)
    for a, b in quiet:
        if b - a < _BRIDGE_FRAMES and a > 0 and b < n:
            loud[a:b] = True
    return Envelope(loud)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def vad_regions(audio: np.ndarray, *, threshold: float = 0.5, min_silence_ms: int = 200,
                speech_pad_ms: int = 30, min_speech_ms: int = 150,
                probs: np.ndarray | None = None) -> list[tuple[float, float]]:
    """Silero VAD speech regions (s), fine-grained: one per utterance rather than per paragraph.
    ``probs``: Silero's probabilities of ``audio`` when already computed (``vad.speech_probabilities``)."""
    probs = speech_probabilities(audio) if probs is None else probs
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE)
            for c in speech_chunks(probs, len(audio), threshold=threshold, min_silence_duration_ms=min_silence_ms,
                                   speech_pad_ms=speech_pad_ms, min_speech_duration_ms=min_speech_ms)]


def merge_regions(regions: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    """Regions whose pause is shorter than ``gap`` seconds joined into one."""
    out: list[list[float]] = []
    for start, end in sorted(regions):
        if out and start - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


SHORT_STRETCH_SECONDS = 4.0  # shorter_stretches: a failed stretch is decoded again in pieces this long


def speech_stretches(audio: np.ndarray, env: Envelope | None = None, *, gap: float = 0.3,
                     min_seconds: float = 0.3, vad_threshold: float = 0.25,
                     probs: np.ndarray | None = None) -> list[tuple[float, float]]:
    """Stretches of speech (s) where words are expected: runs of the energy envelope (pauses
    shorter than ``gap`` bridged, at least ``min_seconds`` long) that Silero also hears as
    speech at a lenient threshold. The envelope gives the bounds (sharp on clean speech);
    Silero keeps out noise and music that are merely loud. Silero at its usual 0.5 misses
    whole soft utterances (measured: benchmarks/word_accuracy.py), hence the lenient threshold.
    ``probs``: Silero's probabilities of ``audio`` when already computed (``vad_regions``)."""
    env = env or envelope(audio)
    voiced = vad_regions(audio, threshold=vad_threshold, probs=probs)
    out = []
    for a, b in merge_regions(env.runs(), gap):
        if b - a >= min_seconds and any(va < b and vb > a for va, vb in voiced):
            out.append((a, b))
    return out


def shorter_stretches(stretch: tuple[float, float], env: Envelope, *, max_seconds: float = SHORT_STRETCH_SECONDS,
                      min_seconds: float = 0.3) -> list[tuple[float, float]]:
    """``stretch`` cut at its widest pauses until no piece is longer than ``max_seconds`` (or a
    piece has no pause left): the last resort for a stretch Whisper loops over twice. Turns that
    latch (0-0.2 s apart, as in conversation) make one long stretch of several voices, which
    Whisper can decode as one phrase over and over; a turn or two at a time it does not."""
    todo, out = [stretch], []
    while todo:
        a, b = todo.pop()
        quiet = env.longest_quiet(a, b) if b - a > max_seconds else None
        if quiet is None:
            out.append((a, b))
        else:
            todo += [(a, quiet[0]), (quiet[1], b)]
    return sorted(r for r in out if r[1] - r[0] >= min_seconds)
