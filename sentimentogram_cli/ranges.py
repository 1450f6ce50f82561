"""A range of a recording (``--start``/``--end``): parsing the times, naming outputs after the
range, and an analysis cut to it.

Times are seconds (``90``, ``12.5``) or clock times (``1:30``, ``1:02:03.5``). An analysis is cut
to the words that start inside the range; ``shift`` moves them to the range's own clock (a burned
clip starts at 0). Cues are cut again for the range (the captions package does it from the
recorded rules), so no caption reaches outside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from .document import Analysis
from .errors import UsageError

__all__ = ["TimeRange", "parse_time", "trim_analysis"]

_CLOCK = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


def parse_time(text: str | float | None, option: str = "--start") -> float | None:
    """Seconds from "90", "12.5", "1:30" or "1:02:03.5"; None for None; a UsageError otherwise."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        found = _CLOCK.match(str(text).strip().rstrip("s"))
        if not found:
            raise UsageError(f"{option} {text!r}: expected seconds (90, 12.5) or a clock time (1:30, 1:02:03.5)")
        parts = [p for p in found.groups() if p is not None]
        value = 0.0
        for part in parts:
            value = value * 60 + float(part)
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{option} {text!r}: expected a time of 0 or more")
    return value


def _label(seconds: float) -> str:
    minutes, rest = divmod(round(seconds, 1), 60)
    rest_text = f"{rest:g}" if rest != int(rest) else f"{int(rest)}"
    return f"{int(minutes)}m{rest_text}s" if minutes else f"{rest_text}s"


@dataclass(frozen=True)
class TimeRange:
    """Seconds ``start`` (0: the beginning) to ``end`` (None: the end) of a recording."""

    start: float = 0.0
    end: float | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise UsageError(f"--end ({self.end:g} s) must come after --start ({self.start:g} s)")

    @classmethod
    def parse(cls, start: str | float | None, end: str | float | None) -> "TimeRange":
        return cls(parse_time(start, "--start") or 0.0, parse_time(end, "--end"))

    @property
    def whole(self) -> bool:
        """Whether this is the whole recording (no --start, no --end)."""
        return self.start == 0 and self.end is None

    @property
    def label(self) -> str:
        """The range in output names: "" for the whole recording, else e.g. "1m5s-1m20.5s"."""
        if self.whole:
            return ""
        return f"{_label(self.start)}-{_label(self.end) if self.end is not None else 'end'}"

    def duration(self, total: float) -> float:
        """Seconds the range holds of a recording ``total`` seconds long."""
        end = total if self.end is None else min(self.end, total) if total > 0 else self.end
        return max(0.0, end - self.start)

    def check_inside(self, total: float, what: str) -> None:
        """A UsageError when the range starts after the end of a recording ``total`` s long."""
        if total > 0 and self.start >= total:
            raise UsageError(f"--start {self.start:g} s is past the end of {what} ({total:.1f} s)")


def trim_analysis(analysis: Analysis, span: TimeRange, shift: bool = True) -> Analysis:
    """The part of ``analysis`` inside ``span``: the words that start in it (ends clipped to it),
    on the range's clock when ``shift``; its cues cut again."""
    if span.whole:
        return analysis
    start = span.start
    end = span.end if span.end is not None else max(analysis.duration, start)
    offset = start if shift else 0.0
    lines = []
    for line in analysis.lines:
        words = [replace(w, start=w.start - offset, end=min(w.end, end) - offset)
                 for w in line.words if start <= w.start < end]
        if words:
            lines.append(replace(line, start=max(line.start, start) - offset, end=min(line.end, end) - offset,
                                 words=words))
    duration = span.duration(analysis.duration)
    if shift:
        return replace(analysis, lines=lines, cues=[], duration=round(duration, 3))
    # On the recording's clock the range is recorded, so the page's player can play just it.
    settings = {**analysis.settings, "range": f"{start:g},{end:g}" if span.end is not None else f"{start:g}"}
    return replace(analysis, lines=lines, cues=[], settings=settings)
