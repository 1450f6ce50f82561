"""The settings of one analysis (``AnalysisOptions``), checked when made; the progress callback
that times each stage (``StageTimer``); and the last release's keyword forms folded into options.
Apart from ``analyser`` so that what a caller passes is read in one place and the stages in another.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .constants import HOP_SECONDS, LANGUAGES, WINDOW_SECONDS
from .errors import UsageError

__all__ = ["ProgressCallback", "AnalysisOptions", "StageTimer", "with_old_keywords"]

# progress(stage, fraction done 0..1); called with 0.0 when a stage starts and 1.0 when it ends.
ProgressCallback = Callable[[str, float], None]
_WINDOW_RANGE = (0.5, 30.0)  # seconds
_MIN_HOP = 0.1


@dataclass(frozen=True)
class AnalysisOptions:
    """The settings of one analysis: the spoken ``language`` (None: detected) and the emotion
    model's ``window`` and ``hop`` in seconds. Checked when made (UsageError)."""

    language: str | None = None
    window: float = WINDOW_SECONDS
    hop: float = HOP_SECONDS
    speakers: str | int = "auto"  # who speaks: "auto" (finds how many, 1 included), a number, or "off"

    def __post_init__(self) -> None:
        from .speakers import parse_speakers

        object.__setattr__(self, "speakers", parse_speakers(self.speakers))
        if self.language is not None and self.language not in LANGUAGES:
            raise UsageError(f"unknown language {self.language!r}: use a Whisper language code such as "
                             f"en, de, fr, es, pl, zh (leave it out to detect it)")
        lo, hi = _WINDOW_RANGE
        if not lo <= self.window <= hi:
            raise UsageError(f"window ({self.window} s) must be from {lo} to {hi} seconds")
        if not _MIN_HOP <= self.hop <= self.window:
            raise UsageError(f"hop ({self.hop} s) must be from {_MIN_HOP} s to the window ({self.window} s)")


class StageTimer:
    """A progress callback that also times each stage, from its 0.0 to its 1.0 (``seconds``),
    and passes every call on to ``progress``. No stage timed after an analysis: it came from
    the cache."""

    def __init__(self, progress: ProgressCallback | None = None):
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        if fraction == 0.0:
            self._started[stage] = time.perf_counter()
        elif fraction >= 1.0 and stage in self._started:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - self._started.pop(stage)
        if self.progress:
            self.progress(stage, fraction)


_OLD_KEYWORDS = ("language", "window", "hop")


def with_old_keywords(options: AnalysisOptions | None, old: dict[str, Any], where: str) -> AnalysisOptions:
    """``options``, with the last release's ``language=``/``window=``/``hop=`` keywords folded in
    (and a DeprecationWarning); any other keyword is the TypeError Python would raise."""
    unknown = sorted(set(old) - set(_OLD_KEYWORDS))
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
    if old:
        spelled = ", ".join(f"{k}={v!r}" for k, v in old.items())
        warnings.warn(f"{where}({', '.join(k + '=' for k in old)}...) is deprecated and goes in the next release: "
                      f"pass options=AnalysisOptions({spelled})", DeprecationWarning, stacklevel=3)
        return replace(options or AnalysisOptions(), **old)
    return options or AnalysisOptions()
