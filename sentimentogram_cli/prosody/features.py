"""Raw acoustic measures of each word: level (dB), median pitch (semitones), sounding duration.

Praat (through praat-parselmouth, the tool the prosody-caption studies used) tracks pitch and
intensity. Only speech is measured: consecutive words are grouped into runs (a pause longer than
``RUN_GAP`` or ``RUN_SECONDS`` of speech ends a run) and each run is cut from the in-memory 30 s
chunks, so memory stays bounded and pauses cost nothing. The measures here are absolute (dB re
Praat's reference, semitones re 100 Hz); ``prosody.emphasis`` turns them into deviations from
the speaker's own running baseline.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..constants import (CHUNK_SAMPLES, PROSODY_MIN_WORD, PROSODY_PITCH_CEILING, PROSODY_PITCH_FLOOR,
                         SAMPLE_RATE)

__all__ = ["WordSpan", "WordMeasure", "syllables", "measure_words", "RUN_GAP", "RUN_SECONDS"]

RUN_GAP = 0.6  # seconds of pause that end a run of words measured together
RUN_SECONDS = 30.0  # longest run (bounded memory)
_PAD = 0.06  # seconds of context either side of a run (Praat's analysis windows need it)
_STEP = 0.01  # seconds between pitch and intensity frames
_MIN_VOICED = 3  # voiced frames a word needs for a pitch
_SOUNDING_DB = 15.0  # frames within this of the word's loud frames count as sounding
_LOUD_PERCENTILE = 80  # a word's level: this percentile of its frames (robust to loose word ends)
_VOWELS = set("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿąęėįųūœıəɛɔ")


@dataclass(frozen=True)
class WordSpan:
    """A word to measure: its times (seconds) and text (for its expected length)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class WordMeasure:
    """What Praat heard in one word, in absolute units."""

    level_db: float  # the _LOUD_PERCENTILE of its intensity frames, dB
    pitch: float | None  # median F0 of its voiced frames, semitones re 100 Hz; None: unvoiced
    sounding: float  # seconds of its span within _SOUNDING_DB of its loud frames
    syllables: float  # its expected length in syllables (from the text)


def syllables(text: str) -> float:
    """A word's length in syllables, guessed from its letters: vowel groups in alphabetic
    scripts, a syllable per character in scripts without separate vowels (CJK, Ethiopic…),
    never less than 1."""
    letters = [c for c in unicodedata.normalize("NFC", text.lower()) if c.isalpha()]
    if not letters:
        return 1.0
    if not any(c.isascii() or c in _VOWELS for c in letters):  # syllabic or logographic script
        return float(len(letters))
    groups = re.findall(r"[" + "".join(sorted(_VOWELS)) + r"]+", "".join(letters))
    count = len(groups)
    if count > 1 and "".join(letters).endswith("e") and not "".join(letters).endswith(("le", "ee")):
        count -= 1  # English silent e ("made", "there")
    return float(max(1, count))


def _runs(spans: Sequence[WordSpan]) -> list[list[int]]:
    """Indices of the words grouped into runs of speech, in time order."""
    order = sorted(range(len(spans)), key=lambda i: spans[i].start)
    runs: list[list[int]] = []
    for i in order:
        if runs:
            first, last_end = spans[runs[-1][0]].start, max(spans[j].end for j in runs[-1])
            if spans[i].start - last_end <= RUN_GAP and spans[i].end - first <= RUN_SECONDS:
                runs[-1].append(i)
                continue
        runs.append([i])
    return runs


def _samples(chunks: Sequence[np.ndarray], n_samples: int, a: int, b: int) -> np.ndarray:
    """Samples [a, b) of the recording held as consecutive chunks of CHUNK_SAMPLES."""
    a, b = max(0, a), min(n_samples, b)
    parts = []
    for k in range(a // CHUNK_SAMPLES, (max(a, b - 1)) // CHUNK_SAMPLES + 1):
        chunk, offset = chunks[k], k * CHUNK_SAMPLES
        parts.append(chunk[max(0, a - offset): max(0, b - offset)])
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _frames(sound, t0: float):
    """(times, intensity dB) and (times, F0 Hz with 0 = unvoiced) of one run, times in the recording."""
    intensity = sound.to_intensity(minimum_pitch=PROSODY_PITCH_FLOOR, time_step=_STEP, subtract_mean=False)
    pitch = sound.to_pitch_ac(time_step=_STEP, pitch_floor=PROSODY_PITCH_FLOOR,
                              pitch_ceiling=PROSODY_PITCH_CEILING)
    level = (intensity.xs() + t0, intensity.values[0])
    f0 = (pitch.xs() + t0, pitch.selected_array["frequency"])
    return level, f0


def _measure(span: WordSpan, level, f0) -> WordMeasure | None:
    times, db = level
    inside = (times >= span.start) & (times < span.end)
    if span.end - span.start < PROSODY_MIN_WORD or inside.sum() < 2:
        return None
    frames = db[inside]
    loud = float(np.percentile(frames, _LOUD_PERCENTILE))
    sounding = float(np.sum(frames >= loud - _SOUNDING_DB)) * _STEP
    ptimes, hz = f0
    voiced = hz[(ptimes >= span.start) & (ptimes < span.end) & (hz > 0)]
    pitch = float(12.0 * np.log2(np.median(voiced) / 100.0)) if len(voiced) >= _MIN_VOICED else None
    return WordMeasure(level_db=loud, pitch=pitch, sounding=max(sounding, _STEP),
                       syllables=syllables(span.text))


def measure_words(chunks: Sequence[np.ndarray], n_samples: int,
                  spans: Sequence[WordSpan]) -> list[WordMeasure | None]:
    """Praat's measures of every word of a 16 kHz recording held as CHUNK_SAMPLES chunks; None
    for a word too short to measure (under PROSODY_MIN_WORD seconds)."""
    import parselmouth

    out: list[WordMeasure | None] = [None] * len(spans)
    for run in _runs(spans):
        t0 = max(0.0, min(spans[i].start for i in run) - _PAD)
        t1 = max(spans[i].end for i in run) + _PAD
        a, b = int(round(t0 * SAMPLE_RATE)), int(round(t1 * SAMPLE_RATE))
        audio = _samples(chunks, n_samples, a, b).astype(np.float64)
        minimum = int(0.2 * SAMPLE_RATE)  # Praat needs a few analysis windows
        if len(audio) < minimum:
            audio = np.pad(audio, (0, minimum - len(audio)))
        sound = parselmouth.Sound(audio, sampling_frequency=SAMPLE_RATE)
        level, f0 = _frames(sound, a / SAMPLE_RATE)
        for i in run:
            out[i] = _measure(spans[i], level, f0)
    return out
