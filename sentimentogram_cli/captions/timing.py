"""When each cue is shown: from a little before its first word to after its last, as long as the
reading speed and the minimum duration need, never into the next cue.

Gap by gap, left to right: the time between one cue's last word and the next cue's first word is
shared between holding the earlier cue (what it still needs) and leading into the later one (up
to ``max_lead``, what it needs beyond the gap after it). When both cannot have all they need, the
one that then meets the rules gets it. What is left of the gap is kept when it is at least
``close_gap``; a shorter one is closed to ``min_gap`` (the earlier cue held longer), and one
shorter than ``min_gap`` to nothing (the cues are chained), as subtitlers do. A cue is never
longer than ``max_duration``. Times are rounded to milliseconds (what VTT and SRT write).
"""

from __future__ import annotations

import math
from typing import Sequence

from ..document import Cue
from .rules import CaptionRules
from .segment import Layout, TimedWord, line_text

__all__ = ["cue_chars", "time_cues"]


def cue_chars(words: Sequence[TimedWord], layout: Layout | Cue) -> int:
    """Characters of a cue's text as shown (its lines, without the line break)."""
    lines = layout.lines() if isinstance(layout, Layout) else layout.lines
    return sum(len(line_text(words, a, b)) for a, b in lines)


def time_cues(words: Sequence[TimedWord], layouts: Sequence[Layout], rules: CaptionRules,
              end_limit: float | None = None) -> list[Cue]:
    """The cues of ``layouts`` with their start and end times (seconds, millisecond steps)."""
    k_count = len(layouts)
    if not k_count:
        return []
    first = [words[lay.first].start for lay in layouts]
    last = [max(words[lay.first].start, words[lay.stop - 1].end) for lay in layouts]
    # What each cue needs, in whole milliseconds (rounded up, so the written times still meet it).
    need = [min(rules.max_duration, math.ceil(1000 * max(rules.min_duration, cue_chars(words, lay) / rules.max_cps)
                                              - 1e-6) / 1000) for lay in layouts]
    limit = float("inf") if end_limit is None else max(end_limit, last[-1])

    def room_after(k: int) -> float:
        if k + 1 < k_count:
            return max(0.0, first[k + 1] - last[k] - rules.min_gap)
        return limit - last[k]

    def lead_cap(k: int) -> float:
        """The most lead cue k may have: max_lead, and never past max_duration."""
        return max(0.0, min(rules.max_lead, rules.max_duration - (last[k] - first[k])))

    def lead_wanted(k: int) -> float:
        """What cue k needs before its first word, beyond its words and the gap after it."""
        return min(lead_cap(k), max(0.0, need[k] - (last[k] - first[k]) - room_after(k)))

    starts, ends = list(first), list(last)
    starts[0] = first[0] - min(lead_wanted(0), max(0.0, first[0]))
    for k in range(k_count):
        hold = max(0.0, need[k] - (last[k] - starts[k]))  # what cue k still needs after its words
        hold_cap = max(0.0, starts[k] + rules.max_duration - last[k])
        if k + 1 == k_count:
            ends[k] = last[k] + min(hold, hold_cap, limit - last[k])
            break
        gap = first[k + 1] - last[k]
        if gap <= 0:  # words overlapping across the cut (rare): chain the cues at the next word
            ends[k] = starts[k + 1] = max(first[k + 1], starts[k] + 0.001)
            continue
        lead = min(lead_wanted(k + 1), gap)
        x = min(hold, hold_cap)
        if x + lead > gap:  # not both: serve the one that then meets its need
            if x <= gap and hold <= hold_cap:
                lead = min(lead, gap - x)
            else:
                x = gap - lead
        x = max(0.0, x)
        rest = gap - x - lead
        if rest < rules.close_gap:  # close a short gap: to min_gap, or chain the cues
            grow = rest - rules.min_gap if rest >= rules.min_gap else rest
            x += min(grow, max(0.0, hold_cap - x))
            rest = gap - x - lead
            if 0 < rest < rules.min_gap and lead + rest <= lead_cap(k + 1):  # held to max_duration:
                lead += rest  # chain with the later cue's lead
        ends[k] = last[k] + x
        starts[k + 1] = first[k + 1] - lead
    out = []
    for lay, s, e in zip(layouts, starts, ends):
        s, e = round(s, 3), round(e, 3)
        out.append(Cue(start=s, end=max(e, s + 0.001), lines=lay.lines()))
    for prev, nxt in zip(out, out[1:]):  # rounding must not make cues overlap
        if prev.end > nxt.start:
            prev.end = nxt.start
    return out
