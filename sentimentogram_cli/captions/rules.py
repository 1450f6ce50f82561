"""The subtitle rules cues are cut by, as one checked dataclass (what ``Analysis.caption_rules``
records), after the Netflix Timed Text Style Guide (English) and the BBC subtitle guidelines.

The numbers a viewer may want changed (reading speed above all: 20 characters a second for
adults, 17 or less for children) come from the style (``typography.py`` presets and the style
TOML's ``[captions]`` table); this module only holds the defaults and checks the values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import UsageError

__all__ = ["CaptionRules", "FRAME", "CUTTER_VERSION"]

FRAME = 1 / 24  # one frame at 24 frames a second: gaps are counted in these
# The version of the cutting itself, recorded with the rules: cues a document holds from another
# version are cut again (``cues_for``), so a newer cutter is never hidden behind a saved analysis.
CUTTER_VERSION = 2


@dataclass(frozen=True)
class CaptionRules:
    """How captions are cut and timed.

    - ``max_chars`` characters a line (spaces and punctuation count), at most ``max_lines`` lines;
    - each cue shown from ``min_duration`` (5/6 s) to ``max_duration`` (7 s);
    - ``max_cps``: reading speed, characters a second over the time the cue is shown;
    - cues never overlap and leave ``min_gap`` (2 frames) between them, or none (chained); a gap
      shorter than ``close_gap`` is closed to ``min_gap`` (the earlier cue is held longer);
    - a cue may start up to ``max_lead`` before its first word, and end after its last word as long
      as reading speed needs it (never into the next cue);
    - a cue never spans a silence of ``max_silence`` or more, nor a change of speaker.
    """

    max_chars: int = 42
    max_lines: int = 2
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    max_cps: float = 20.0
    min_gap: float = 2 * FRAME
    close_gap: float = 0.5
    max_lead: float = 0.5
    max_silence: float = 1.5

    def __post_init__(self) -> None:
        checks = {
            "max_chars": (10, 200), "max_lines": (1, 4), "min_duration": (0.1, 5.0),
            "max_duration": (1.0, 30.0), "max_cps": (5.0, 60.0), "min_gap": (0.0, 1.0),
            "close_gap": (0.0, 3.0), "max_lead": (0.0, 3.0), "max_silence": (0.3, 30.0),
        }
        for name, (lo, hi) in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise UsageError(f"caption rule {name} = {value!r}: expected a number from {lo} to {hi}")
        if self.min_duration >= self.max_duration:
            raise UsageError(f"caption rule min_duration ({self.min_duration}) must be below "
                             f"max_duration ({self.max_duration})")
        for name in ("max_chars", "max_lines"):
            if getattr(self, name) != int(getattr(self, name)):
                raise UsageError(f"caption rule {name} = {getattr(self, name)!r}: expected a whole number")
            object.__setattr__(self, name, int(getattr(self, name)))

    def to_dict(self) -> dict[str, float]:
        """The rules as the analysis document records them (with the cutter's version)."""
        return {**{k: float(v) for k, v in asdict(self).items()}, "version": float(CUTTER_VERSION)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CaptionRules":
        """Rules from a document's or a style file's table; unknown names are a UsageError."""
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k != "version"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise UsageError(f"unknown caption rule {unknown[0]!r}: the rules are {', '.join(sorted(names))}")
        return cls(**{k: (int(v) if k in ("max_chars", "max_lines") and isinstance(v, float) and v == int(v)
                          else v) for k, v in data.items()})
