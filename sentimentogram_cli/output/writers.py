"""One writer per output format behind one registry (as openai/whisper's ``get_writer``), each
writing atomically; ``write`` picks the writer from a file's suffix, ``write_all`` writes a set
of outputs so that a failure leaves none of them half done.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

from ..captions import CaptionRules
from ..document import Analysis
from ..atomic import atomic_write_text, remove_stale_temporaries
from ..constants import FORMATS
from ..errors import UsageError
from ..media import MediaInfo, probe
from ..style import Style
from .ass import to_ass
from .page import render_page
from .subtitles import to_srt, to_vtt

__all__ = ["Media", "Writer", "HtmlWriter", "JsonWriter", "VttWriter", "SrtWriter", "AssWriter", "WRITERS",
           "get_writer", "write", "write_all"]

# The audio or video the outputs belong to: a path, or what media.probe() already said about it.
Media = str | os.PathLike | MediaInfo | None


def _media_path(media: Media) -> Path | None:
    if media is None:
        return None
    return media.path if isinstance(media, MediaInfo) else Path(media)


class Writer(ABC):
    """Writes an analysis in one format (``extension``), styled by ``style``, its captions cut by
    ``rules`` (default: the style's: its age group's reading speed, its style file's [captions])."""

    extension = ""

    def __init__(self, style: Style | None = None, rules: CaptionRules | None = None):
        self.style = style or Style()
        self.rules = rules

    @abstractmethod
    def text(self, analysis: Analysis, path: Path, media: Media = None, embed: bool = False) -> str:
        """The file's whole content, for an output that will be at ``path``."""

    def write(self, analysis: Analysis, path: str | os.PathLike, *, media: Media = None, embed: bool = False) -> Path:
        """Write the output to ``path`` atomically (leftovers of a killed run removed first);
        returns the path."""
        path = Path(path)
        remove_stale_temporaries(path)
        atomic_write_text(path, self.text(analysis, path, media, embed))
        return path


class HtmlWriter(Writer):
    """The self-contained page; ``media`` is linked relative to the page, or embedded."""

    extension = "html"

    def text(self, analysis, path, media=None, embed=False):
        source = _media_path(media)
        if source is not None and not embed:
            source = Path(os.path.relpath(source.resolve(), path.parent.resolve())).as_posix()
        return render_page(analysis, self.style, media=source, embed=embed, **({"rules": self.rules} if self.rules else {}))


class JsonWriter(Writer):
    """The analysis document itself (every probability, VAD value and gate); not styled."""

    extension = "json"

    def text(self, analysis, path, media=None, embed=False):
        return analysis.to_json()


class VttWriter(Writer):
    """WebVTT with a class and a STYLE rule per emotion."""

    extension = "vtt"

    def text(self, analysis, path, media=None, embed=False):
        return to_vtt(analysis, self.style, self.rules)


class SrtWriter(Writer):
    """SubRip: plain text cues."""

    extension = "srt"

    def text(self, analysis, path, media=None, embed=False):
        return to_srt(analysis, self.style, self.rules)


class AssWriter(Writer):
    """ASS with karaoke timing; sized to the video's picture when ``media`` has one."""

    extension = "ass"

    def text(self, analysis, path, media=None, embed=False):
        size = None
        if isinstance(media, MediaInfo):
            size = media.size
        elif media is not None and analysis.media_kind == "video":
            size = probe(media).size
        return to_ass(analysis, self.style, size, rules=self.rules)


WRITERS: dict[str, type[Writer]] = {w.extension: w for w in (HtmlWriter, JsonWriter, VttWriter, SrtWriter, AssWriter)}
assert tuple(WRITERS) == FORMATS, "one writer per format, in FORMATS order"


def get_writer(output_format: str, style: Style | None = None, rules: CaptionRules | None = None) -> Writer:
    """The writer of ``output_format`` (one of FORMATS), styled by ``style`` (captions cut by
    ``rules``, default the style's); UsageError for another format."""
    try:
        return WRITERS[output_format.lower()](style, rules)
    except KeyError:
        raise UsageError(f"unknown output format {output_format!r}: use one of {', '.join(FORMATS)}") from None


def write(analysis: Analysis, path: str | os.PathLike, style: Style | None = None, *, media: Media = None,
          embed: bool = False, rules: CaptionRules | None = None) -> Path:
    """Write ``analysis`` to ``path`` in the format its suffix names (html json vtt srt ass),
    atomically; returns the path. ``media``: the audio or video the page plays (``embed``: inside
    it) and whose picture size the ASS file takes."""
    path = Path(path)
    return get_writer(path.suffix.lstrip("."), style, rules).write(analysis, path, media=media, embed=embed)


def write_all(analysis: Analysis, paths: dict[str, Path], style: Style | None = None, *, media: Media = None,
              embed: bool = False, rules: CaptionRules | None = None) -> list[Path]:
    """Write one output per format in ``paths``, the page last, so that a page on disk always
    has its companions; a failure removes what this call wrote. Returns the paths in FORMATS
    order."""
    written: list[Path] = []
    try:
        for fmt in sorted(paths, key=lambda f: f == "html"):
            written.append(get_writer(fmt, style, rules).write(analysis, paths[fmt], media=media, embed=embed))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return [paths[fmt] for fmt in FORMATS if fmt in paths]
