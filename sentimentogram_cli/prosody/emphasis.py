"""From raw measures to prosody and emphasis: each word against its speaker's running baseline.

A word's baseline is the median of the same speaker's other words within ``BASELINE_SECONDS``
either side (at least ``BASELINE_MIN_WORDS`` of them: the nearest ones when the window holds
fewer), so a quiet speaker's stressed word stands out as much as a loud speaker's. Level and
pitch baselines follow the neighbours' trend (Theil-Sen), so a level or pitch that drifts over a
talk moves the baseline with it, to the last word. Against it:

- ``loudness_db``: the word's level minus the baseline level;
- ``pitch_semitones``: its median pitch minus the baseline pitch (None when it is unvoiced);
- ``duration_ratio``: its sounding duration over the duration the baseline speaking rate
  (seconds per syllable) expects for its syllables.

``emphasis`` (0..1) grows with how far each of the three rises above the baseline, each in its
own unit (``EMPHASIS_DB``, ``EMPHASIS_SEMITONES``, ``EMPHASIS_OCTAVES`` of duration); falling
below counts nothing (a whisper is not emphasis). Short words carry less (their few frames are
unreliable, and most are function words), by their duration up to ``FULL_WORD_SECONDS``.
``emphasised`` is ``emphasis >= EMPHASIS_THRESHOLD``: no quota, so flat speech has few or none.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..constants import (EMPHASIS_DB, EMPHASIS_OCTAVES, EMPHASIS_SEMITONES, EMPHASIS_THRESHOLD)
from ..document import Prosody
from .features import WordMeasure

__all__ = ["BASELINE_SECONDS", "BASELINE_MIN_WORDS", "TREND_MIN_WORDS", "TREND_MIN_SECONDS", "TREND_OFF_CENTRE",
           "FULL_WORD_SECONDS", "WordProsody", "against_baseline", "emphasis_of"]

BASELINE_SECONDS = 15.0
BASELINE_MIN_WORDS = 6
TREND_MIN_WORDS, TREND_MIN_SECONDS = 10, 8.0  # fewer neighbours, or a shorter span: a plain median
TREND_OFF_CENTRE = 1.0  # seconds between a word and its neighbours' median time that call for the trend
FULL_WORD_SECONDS = 0.18


@dataclass(frozen=True)
class WordProsody:
    """One word's prosody against its speaker's baseline, its emphasis and whether it is emphasised."""

    prosody: Prosody | None
    emphasis: float
    emphasised: bool


def _neighbours(k: int, members: list[int], member_times: list[float]) -> list[int]:
    """The speaker's other words within BASELINE_SECONDS of its ``k``-th word (at least the
    BASELINE_MIN_WORDS nearest); ``members`` in time order, ``member_times`` their times."""
    t = member_times[k]
    lo = bisect.bisect_left(member_times, t - BASELINE_SECONDS)
    hi = bisect.bisect_right(member_times, t + BASELINE_SECONDS)
    if hi - lo - 1 < BASELINE_MIN_WORDS:  # widen to the nearest words, one side at a time
        lo = hi = k
        hi += 1
        while hi - lo - 1 < BASELINE_MIN_WORDS and (lo > 0 or hi < len(members)):
            if hi >= len(members) or (lo > 0 and t - member_times[lo - 1] <= member_times[hi] - t):
                lo -= 1
            else:
                hi += 1
    return [members[j] for j in range(lo, hi) if j != k]


def _level_at(t: float, times: list[float], values: list[float]) -> float:
    """The baseline of ``values`` (measured at ``times``) at time ``t``: their median, carried
    along their Theil-Sen trend when they span enough words and seconds and are not centred on
    ``t`` (so a drift is followed to the ends of the recording and across long pauses)."""
    x, y = np.asarray(times), np.asarray(values)
    # Neighbours centred on t (within TREND_OFF_CENTRE s): the median already sits on a straight
    # drift, and costs nothing.
    if (len(x) < TREND_MIN_WORDS or x.max() - x.min() < TREND_MIN_SECONDS
            or abs(float(np.median(x)) - t) <= TREND_OFF_CENTRE):
        return float(np.median(y))
    i, j = np.triu_indices(len(x), 1)
    apart = np.abs(x[j] - x[i]) >= 0.2
    slope = float(np.median((y[j] - y[i])[apart] / (x[j] - x[i])[apart])) if apart.any() else 0.0
    return float(np.median(y + slope * (t - x)))


def emphasis_of(prosody: Prosody, duration: float,
                units: tuple[float, float, float] = (EMPHASIS_DB, EMPHASIS_SEMITONES, EMPHASIS_OCTAVES)) -> float:
    """Emphasis 0..1 of a word with this prosody that lasted ``duration`` seconds; ``units``:
    the dB, semitones and octaves of duration that each count one."""
    db, semitones, octaves = units
    rise = max(0.0, prosody.loudness_db) / db
    if prosody.pitch_semitones is not None:
        rise += max(0.0, prosody.pitch_semitones) / semitones
    rise += max(0.0, math.log2(max(prosody.duration_ratio, 1e-6))) / octaves
    reliability = min(1.0, duration / FULL_WORD_SECONDS)
    return round(1.0 - math.exp(-rise * reliability), 4)


def against_baseline(measures: Sequence[WordMeasure | None], times: Sequence[float],
                     durations: Sequence[float], speakers: Sequence[str | None]) -> list[WordProsody]:
    """Every word's prosody against its own speaker's running baseline (words of speaker None
    form one group: the recording), with its emphasis. A word with no measure, or whose speaker
    has no other measured word, gets no prosody and emphasis 0."""
    groups: dict[str | None, list[int]] = {}
    for i, m in enumerate(measures):
        if m is not None:
            groups.setdefault(speakers[i], []).append(i)
    out = [WordProsody(None, 0.0, False)] * len(measures)
    for members in groups.values():
        members.sort(key=lambda i: times[i])
        member_times = [times[i] for i in members]
        for k, i in enumerate(members):
            near = _neighbours(k, members, member_times)
            if not near:
                continue
            m = measures[i]
            level = _level_at(times[i], [times[j] for j in near], [measures[j].level_db for j in near])
            voiced = [j for j in near if measures[j].pitch is not None]
            rate = float(np.median([measures[j].sounding / measures[j].syllables for j in near]))
            pitch = None
            if m.pitch is not None and voiced:
                pitch = round(m.pitch - _level_at(times[i], [times[j] for j in voiced],
                                                  [measures[j].pitch for j in voiced]), 2)
            prosody = Prosody(loudness_db=round(m.level_db - level, 2), pitch_semitones=pitch,
                              duration_ratio=round(m.sounding / max(rate * m.syllables, 1e-3), 3))
            emphasis = emphasis_of(prosody, durations[i])
            out[i] = WordProsody(prosody, emphasis, emphasis >= EMPHASIS_THRESHOLD)
    return out
