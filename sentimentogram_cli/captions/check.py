"""Which subtitle rules each cue breaks: what the tests and ``benchmarks/caption_rules.py`` count.

The rules of the issue (a cue breaking any of these counts as breaking the rules): ``chars``
(a line over ``max_chars``), ``lines`` (over ``max_lines``), ``short`` (shown under
``min_duration``), ``long`` (over ``max_duration``), ``speed`` (over ``max_cps``), ``overlap``
(starts before the previous cue ends). Also counted, apart: ``gap`` (a gap between 0 and
``min_gap``), ``silence`` (spans a silence of ``max_silence``), ``speaker`` (spans a change of
speaker), ``one_word`` (a one-word cue inside a longer utterance) and, for ``speed``, whether
the speech itself was too fast to meet it (``forced_speed``: even shown over every gap around
its words, the cue would be read faster than ``max_cps``; only dropping words would help), and
for ``short`` whether the words around it left no room (``forced_short``: the previous cue's last
word and the next cue's first word are closer than ``min_duration``, as for a one-word turn
between two other speakers' turns, which no cue may share).
Times are compared at millisecond precision, as the files write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..document import Cue
from .rules import CaptionRules
from .segment import TimedWord, line_text

__all__ = ["RULES", "EXTRA", "CueReport", "check_cues", "verbatim"]

RULES = ("chars", "lines", "short", "long", "speed", "overlap")
EXTRA = ("gap", "silence", "speaker", "one_word", "forced_speed", "forced_short")
_EPS = 0.0015  # millisecond rounding of both ends


@dataclass
class CueReport:
    """One cue against the rules: its text lines, figures and the rules it breaks."""

    lines: list[str]
    duration: float
    cps: float
    broken: set[str] = field(default_factory=set)

    @property
    def breaks_rules(self) -> bool:
        """Whether it breaks one of ``RULES``."""
        return bool(self.broken & set(RULES))


def verbatim(words: Sequence[TimedWord], cues: Sequence[Cue]) -> bool:
    """Whether the cues hold every word once, in order, each line non-empty."""
    expected = 0
    for cue in cues:
        for first, stop in cue.lines:
            if first != expected or stop <= first:
                return False
            expected = stop
    return expected == len(words)


def check_cues(words: Sequence[TimedWord], cues: Sequence[Cue], rules: CaptionRules) -> list[CueReport]:
    """A report per cue: which rules it breaks."""
    out = []
    for k, cue in enumerate(cues):
        lines = [line_text(words, a, b) for a, b in cue.lines]
        chars = sum(len(text) for text in lines)
        duration = cue.end - cue.start
        cps = chars / duration if duration > 0 else float("inf")
        broken = set()
        if any(len(text) > rules.max_chars for text in lines):
            broken.add("chars")
        if len(lines) > rules.max_lines:
            broken.add("lines")
        if duration < rules.min_duration - _EPS:
            broken.add("short")
            # Forced when the time between the previous cue's last word and the next cue's first
            # word is itself too short (a one-word turn between two other speakers' turns).
            lo = words[cues[k - 1].lines[-1][1] - 1].end if k > 0 else float("-inf")
            hi = words[cues[k + 1].lines[0][0]].start if k + 1 < len(cues) else float("inf")
            if hi - lo < rules.min_duration - _EPS:
                broken.add("forced_short")
        if duration > rules.max_duration + _EPS:
            broken.add("long")
        if chars > rules.max_cps * (duration + _EPS):
            broken.add("speed")
            # The most time the cue could have: from the lead before its first word (or the
            # previous cue's last word) to the next cue's first word, all of it.
            first = cue.lines[0][0]
            lo = words[first].start - rules.max_lead
            if k > 0:
                lo = max(lo, words[cues[k - 1].lines[-1][1] - 1].end)
            hi = words[cues[k + 1].lines[0][0]].start if k + 1 < len(cues) else float("inf")
            if chars > rules.max_cps * (min(hi - lo, rules.max_duration) + _EPS):
                broken.add("forced_speed")
        if k > 0:
            gap = cue.start - cues[k - 1].end
            if gap < -_EPS / 2:
                broken.add("overlap")
            elif _EPS / 2 < gap < rules.min_gap - _EPS:
                broken.add("gap")
        idx = cue.word_indices()
        if len(idx) > 1:
            if any(words[i].start - words[i - 1].end >= rules.max_silence for i in idx[1:]):
                broken.add("silence")
            if len({getattr(words[i], "speaker", None) for i in idx}) > 1:
                broken.add("speaker")
        elif _inside_utterance(words, idx[0], rules):
            broken.add("one_word")
        out.append(CueReport(lines=lines, duration=duration, cps=cps, broken=broken))
    return out


def _inside_utterance(words: Sequence[TimedWord], i: int, rules: CaptionRules) -> bool:
    """Whether word i has a neighbour closer than ``max_silence`` of the same speaker."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(words) and getattr(words[j], "speaker", None) == getattr(words[i], "speaker", None):
            a, b = (words[j], words[i]) if j < i else (words[i], words[j])
            if b.start - a.end < rules.max_silence:
                return True
    return False
