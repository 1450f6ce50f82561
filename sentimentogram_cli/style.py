"""The viewer's style choice, the one input of styling besides the analysis: a culture's
conventions, an age group's scale, and optional overrides (a TOML style file, a learned
preference profile). Checked once, when it is made; the overrides are read once, when first used.

A profile is resolved into style overrides by the preferences package (``page_overrides``), which
sits below this module: styling depends on learned preferences, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .analysis_cache import file_sha256
from .emphasis_style import check_emphasis
from .constants import EMOTIONS
from .fonts import FontChoice, resolve_font
from .preferences.profile import page_overrides
from .typography import StyleOverrides, WordStyle, check_choices, override_notes, style_table

__all__ = ["Style"]


@dataclass(frozen=True)
class Style:
    """How the subtitles of an analysis are styled.

    ``culture``: western, eastern or accessible; ``age``: child, teen, adult or senior (both
    switchable live on the page); ``style_file``: TOML overrides per culture and emotion (it beats
    the profile); ``profile``: a preference profile from ``sentimentogram prefs fit`` (it beats the
    presets). ``font``: one family for every emotion (``--font NAME|FILE``; it beats both). A bad
    culture or age raises UsageError here; a bad file or font when it is first read.
    """

    culture: str = "western"
    age: str = "adult"
    style_file: Path | None = None
    profile: Path | None = None
    emphasis: str = "prosody"  # "prosody": emphasised words look stressed (--emphasis); "off": not
    font: str | None = None

    def __post_init__(self) -> None:
        check_choices(self.culture, self.age)
        check_emphasis(self.emphasis)
        for name in ("style_file", "profile"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    @cached_property
    def overrides(self) -> StyleOverrides | None:
        """The style file and the profile merged (the file wins), read and checked; None without
        either. Read once per Style."""
        overrides = page_overrides(self.style_file, self.profile)
        if self.font_choice is None:
            return overrides
        overrides = {key: {e: dict(fields) for e, fields in table.items()} for key, table in (overrides or {}).items()}
        for table in overrides.values():  # a culture's own entries would beat "*": set it in each
            for fields in table.values():
                fields["font_family"] = self.font_choice.family
        everywhere = overrides.setdefault("*", {})
        for emotion in EMOTIONS:
            everywhere.setdefault(emotion, {})["font_family"] = self.font_choice.family
        return overrides

    @cached_property
    def font_choice(self) -> FontChoice | None:
        """The ``font`` found (a FontError, one line, when there is no such font), or None."""
        return resolve_font(self.font) if self.font is not None else None

    def table(self) -> dict[str, WordStyle]:
        """The style of a fully confident, typical word of each emotion (what the page's legend
        shows, and what a style file overrides)."""
        return style_table(self.culture, self.age, self.overrides)

    def notes(self) -> list[str]:
        """A line when the mapper changes a colour or size the overrides ask for (contrast and
        size limits): the user should know their file was not taken literally."""
        return override_notes(self.overrides)

    def check(self) -> None:
        """Read the style file and the profile now (UsageError or a profile error if either is
        bad), so that a bad one fails before any model runs."""
        self.overrides  # noqa: B018 (reading it, and the font, is the check)

    def identity(self) -> dict:
        """What outputs styled this way depend on, for the resume records: the choices and the
        bytes of the files (their content hashes)."""
        return {"culture": self.culture, "age": self.age, "emphasis": self.emphasis,
                "style": file_sha256(self.style_file) if self.style_file else None,
                "profile": file_sha256(self.profile) if self.profile else None,
                **({"font": self.font_choice.family,
                    "font_file": file_sha256(self.font_choice.file) if self.font_choice.file else None}
                   if self.font_choice is not None else {})}
