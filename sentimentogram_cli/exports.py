"""Subtitle exports of an analysis (WebVTT, SRT, ASS) and the writing of every output of a render.

- WebVTT: one cue per line, each word in ``<c.emotion>`` with an inline timestamp (karaoke in
  players that support ``:past``/``:future``), and a STYLE block with one rule per emotion.
- SRT: plain text, one cue per line.
- ASS: one style per emotion from the typography mapper, ``\\kf`` karaoke timing per word and the
  word's own colour, size, weight and slant as overrides; fonts by the names libass finds in the
  package's ``fonts/`` folder.

Transcript text is escaped for each format (VTT ``& < >``, so no ``-->``; ASS braces and
backslashes), so no word can become markup or a timing line.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .analysis import Analysis, Line
from .errors import OutputError
from .typography import Style, StyleOverrides, css_font_stack, style_table, style_word

__all__ = ["FORMATS", "SUBTITLE_FORMATS", "ASS_FONT_NAMES", "parse_formats", "output_paths", "to_vtt",
           "to_srt", "to_ass", "check_outputs", "write_outputs", "remove_stale_temporaries"]

FORMATS = ("html", "json", "vtt", "srt", "ass")
SUBTITLE_FORMATS = ("vtt", "srt", "ass")
# libass matches fonts by the family name inside the file, which for some of the bundled WOFF2
# files is not the CSS family the page uses (tests/test_exports.py checks these against fc-scan).
ASS_FONT_NAMES = {"Fredoka": "Fredoka Light", "Merriweather": "Merriweather Light 18pt"}
_DEFAULT_SIZE = (1920, 1080)  # ASS play resolution when the media has no picture
_WORD_JOINER = "\u2060"


def parse_formats(text: str) -> tuple[str, ...]:
    """``"html,vtt"`` -> ``("html", "vtt")`` in FORMATS order; ValueError names a bad one."""
    wanted = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)}: use a comma-separated list of {', '.join(FORMATS)}")
    if not wanted:
        raise ValueError(f"no format given: use a comma-separated list of {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted)


def output_paths(input_path: Path, out: Path | None, formats: tuple[str, ...]) -> dict[str, Path]:
    """One path per format: ``out`` (or the input), its suffix replaced by the format's.

    ``out`` may be an existing folder (the input's name goes in it); a suffix that is one of
    FORMATS is replaced (``talk.html`` -> ``talk.vtt``), any other is kept (``talk.v2.vtt``).
    """
    input_path = Path(input_path)
    base = Path(out) if out else input_path.with_suffix("")
    if base.is_dir():
        base = base / input_path.stem
    elif base.suffix.lower().lstrip(".") in FORMATS:
        base = base.with_suffix("")
    return {fmt: base.with_name(f"{base.name}.{fmt}") for fmt in FORMATS if fmt in formats}


# ---- shared helpers ---------------------------------------------------------------------------

def _styles(analysis: Analysis, culture: str, age: str, overrides: StyleOverrides | None) -> dict[str, Style]:
    """A style per label of the analysis; labels outside the presets take the neutral style."""
    table = style_table(culture, age, overrides)
    return {label: table.get(label, table["neutral"]) for label in [*table, *analysis.labels]}


def _class_name(label: str) -> str:
    """A label as a CSS class / ASS style name: lowercase letters, digits, '-' and '_' only."""
    name = re.sub(r"[^a-z0-9_-]+", "-", label.lower()).strip("-") or "x"
    return name if name[0].isalpha() else f"e-{name}"


def _cue_lines(analysis: Analysis) -> list[Line]:
    return [line for line in analysis.lines if line.words]


def _bounds(line: Line) -> tuple[float, float]:
    start = min(line.start, line.words[0].start)
    end = max(line.end, line.words[-1].end, start + 0.01)  # cues must not be empty in time
    return start, end


def _clock(seconds: float, separator: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _plain(text: str) -> str:
    return " ".join(text.split())  # no newline may end a cue early


# ---- WebVTT -----------------------------------------------------------------------------------

def _vtt_escape(text: str) -> str:
    text = _plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\\", "\\" + _WORD_JOINER)  # ffmpeg would read "\N" as a line break


def _css_rule(selector: str, style: Style) -> str:
    parts = [f"color: {style.color}", f"background-color: {style.background}",
             f"font-family: {css_font_stack(style.font_family)}", f"font-weight: {style.weight}",
             f"font-style: {'italic' if style.italic else 'normal'}"]
    if style.letter_spacing:
        parts.append(f"letter-spacing: {style.letter_spacing:.3f}em")
    return f"{selector} {{ {'; '.join(parts)}; }}"


def to_vtt(analysis: Analysis, culture: str = "western", age: str = "adult",
           overrides: StyleOverrides | None = None) -> str:
    """WebVTT: a STYLE block with a class per emotion, one cue per line, one <c.emotion> per word."""
    styles = _styles(analysis, culture, age, overrides)
    rules = [_css_rule("::cue", styles["neutral"])]
    rules += [_css_rule(f"::cue(.{_class_name(label)})", style) for label, style in styles.items()]
    # The signature and STYLE block use CR line ends (valid WebVTT): ffmpeg before 6.0 stops
    # reading at a STYLE block, but it reads CR CR as no break, so it skips the block with the
    # signature; browsers see "WEBVTT", a blank line, then the STYLE block.
    out = ["\r".join(["WEBVTT", "", "STYLE", *rules]), ""]
    for n, line in enumerate(_cue_lines(analysis), 1):
        start, end = _bounds(line)
        text, last = [], start
        for i, w in enumerate(line.words):
            word = _vtt_escape(w.text)
            if not word:
                continue
            # Inline timestamps must lie strictly inside the cue and increase.
            stamp = f"<{_clock(w.start, '.')}>" if start < w.start < end and w.start > last else ""
            last = max(last, w.start) if stamp else last
            text.append(f"{' ' if text else ''}{stamp}<c.{_class_name(w.emotion.emotion)}>{word}</c>")
        out += [str(n), f"{_clock(start, '.')} --> {_clock(end, '.')}", "".join(text), ""]
    return "\n".join(out)


# ---- SRT --------------------------------------------------------------------------------------

def to_srt(analysis: Analysis) -> str:
    """SubRip: plain text, one numbered cue per line."""
    out = []
    for n, line in enumerate(_cue_lines(analysis), 1):
        start, end = _bounds(line)
        # "-->" is the timing arrow: a transcript must not be able to fake one.
        # SRT has no escapes, but players read <b> and {\b1} as markup: a word joiner after
        # "<" and "\" and full-width braces keep the words as they were said.
        text = _plain(line.text).replace("-->", "->").replace("<", "<" + _WORD_JOINER)
        text = text.replace("\\", "\\" + _WORD_JOINER).replace("{", "\uff5b").replace("}", "\uff5d") or "…"
        out += [str(n), f"{_clock(start, ',')} --> {_clock(end, ',')}", text, ""]
    return "\n".join(out)


# ---- ASS --------------------------------------------------------------------------------------

def _ass_escape(text: str) -> str:
    # A word joiner after each backslash keeps "\N", "\h" literal; libass reads "\{" as a brace.
    text = _plain(text).replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_colour(color: str, alpha: int = 0) -> str:
    r, g, b = (int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"&H{alpha:02X}{b:02X}{g:02X}{r:02X}"


def _dim(color: str, background: str, amount: float = 0.55) -> str:
    """``color`` moved ``amount`` of the way to ``background``: a word not yet spoken."""
    a, b = (tuple(int(c.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)) for c in (color, background))
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b))


def _ass_clock(seconds: float) -> str:
    cs = max(0, int(round(seconds * 100)))
    h, rest = divmod(cs, 360_000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h:d}:{m:02d}:{s:02d}.{cs:02d}"


def _font_name(family: str) -> str:
    return ASS_FONT_NAMES.get(family, family)


def _style_line(name: str, style: Style, base: float, height: int) -> str:
    size = base * style.size
    fields = [name, _font_name(style.font_family), f"{size:.0f}", _ass_colour(style.color),
              _ass_colour(_dim(style.color, style.background)), _ass_colour(style.background),
              _ass_colour(style.background, 0x40), "-1" if style.weight >= 600 else "0",
              "-1" if style.italic else "0", "0", "0", "100", "100", f"{style.letter_spacing * size:.1f}",
              "0", "3", f"{base * 0.18:.1f}", "0", "2", "40", "40", f"{height * 0.06:.0f}", "1"]
    return "Style: " + ",".join(fields)


def _word_overrides(own: Style, preset: Style, base: float) -> str:
    """The word's own style where it differs from its emotion's preset (confidence, VAD)."""
    tags = []
    if own.font_family != preset.font_family:
        tags.append(f"\\fn{_font_name(own.font_family)}")
    if own.size != preset.size:
        tags.append(f"\\fs{base * own.size:.0f}")
    if own.color != preset.color:
        tags += [f"\\1c{_ass_colour(own.color)}", f"\\2c{_ass_colour(_dim(own.color, own.background))}"]
    if own.background != preset.background:
        tags.append(f"\\3c{_ass_colour(own.background)}")
    if (own.weight >= 600) != (preset.weight >= 600):
        tags.append(f"\\b{1 if own.weight >= 600 else 0}")
    if own.italic != preset.italic:
        tags.append(f"\\i{1 if own.italic else 0}")
    return "".join(tags)


def to_ass(analysis: Analysis, culture: str = "western", age: str = "adult",
           overrides: StyleOverrides | None = None, size: tuple[int, int] | None = None) -> str:
    """Advanced SubStation Alpha with one style per emotion and ``\\kf`` karaoke per word.

    ``size`` is the video's (width, height), so that sizes in the file are its pixels.
    """
    width, height = size or _DEFAULT_SIZE
    base = height * 0.06  # caption text size: 6% of the picture height
    styles = _styles(analysis, culture, age, overrides)
    names = {label: _class_name(label) for label in styles}
    title = _plain(analysis.source).replace("\\", "/")
    out = ["[Script Info]", "; written by sentimentogram", f"Title: {title}", "ScriptType: v4.00+",
           f"PlayResX: {width}", f"PlayResY: {height}", "WrapStyle: 0", "ScaledBorderAndShadow: yes",
           "YCbCr Matrix: None", "", "[V4+ Styles]",
           "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
           "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
           "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
           _style_line("Default", styles["neutral"], base, height)]
    out += [_style_line(names[label], style, base, height) for label, style in styles.items()]
    out += ["", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]
    for line in _cue_lines(analysis):
        start, end = _bounds(line)
        origin = int(round(start * 100))  # karaoke durations count from the event's rounded start
        cursor, text = origin, []
        for w in line.words:
            label = w.emotion.emotion if w.emotion.emotion in styles else "neutral"
            preset = styles[label]
            own = style_word(w.emotion, culture, age, overrides)
            word = w.text.strip()
            word = word.upper() if own.text_transform == "uppercase" else word
            w_start = max(cursor, int(round(w.start * 100)))
            w_end = max(w_start + 1, int(round(w.end * 100)))
            gap = f"{{\\k{w_start - cursor}}}" if w_start > cursor else ""
            space = " " if text else ""
            tags = f"\\r{names[label]}{_word_overrides(own, preset, base)}\\kf{w_end - w_start}"
            text.append(f"{gap}{{{tags}}}{space}{_ass_escape(word)}")
            cursor = w_end
        style = names.get(line.words[0].emotion.emotion, "Default")
        out.append(f"Dialogue: 0,{_ass_clock(start)},{_ass_clock(max(end, cursor / 100))},{style},,0,0,0,,"
                   + "".join(text))
    return "\n".join(out) + "\n"


# ---- writing ----------------------------------------------------------------------------------

def remove_stale_temporaries(path: Path) -> None:
    """Temporary files a killed run (kill -9) left for ``path``: ``.<name>.<random>.part*``."""
    for stale in Path(path).parent.glob(f".{glob.escape(Path(path).name)}.*.part*"):
        try:
            stale.unlink(missing_ok=True)
        except OSError:  # not ours to remove after all: the write itself will say if it fails
            pass


def check_outputs(paths: dict[str, Path], input_path: Path, out: Path | None = None) -> None:
    """Fail now, not after minutes of models: each folder must exist and take a new file.
    ``out`` (the user's --out) naming the input itself is refused too, whatever it would become."""
    for path in [*paths.values(), *([Path(out)] if out is not None else [])]:
        if path.exists() and path.resolve() == Path(input_path).resolve():
            raise OutputError(f"{path} is the input file: choose another output path with --out")
    for path in paths.values():
        if path.is_dir():
            raise OutputError(f"{path} is a directory")
    first = next(iter(paths.values()))
    for folder in {p.parent for p in paths.values()}:
        if not folder.is_dir():
            raise OutputError(f"cannot write {first}: folder {folder} does not exist")
        for stale in folder.glob(".sentimentogram-*.part"):  # probes of a run killed right here
            try:
                stale.unlink(missing_ok=True)
            except OSError:
                pass
        try:  # os.access says yes to root even on read-only or virtual file systems: really try
            fd, probe_file = tempfile.mkstemp(prefix=".sentimentogram-", suffix=".part", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot write {first}: {exc.strerror or exc}") from None
        os.close(fd)
        Path(probe_file).unlink(missing_ok=True)


def write_outputs(analysis: Analysis, paths: dict[str, Path], *, culture: str, age: str,
                  overrides: StyleOverrides | None, media: Path | None, embed_video: bool = False) -> list[Path]:
    """Write every asked-for output, each atomically; the page last, so that a page on disk
    always has its companions. A failure removes what this call wrote: no half set is left.

    ``media``: the audio or video the page plays (linked relative to the page, or embedded);
    for ASS its picture size sets the play resolution.
    """
    from .outputs import atomic_write_text
    from .page import render_page, write_page

    size = None
    if "ass" in paths and media is not None and analysis.media_kind == "video":
        from .burn import video_size

        size = video_size(media)
    makers: dict[str, Callable[[], str]] = {
        "json": analysis.to_json,
        "vtt": lambda: to_vtt(analysis, culture, age, overrides),
        "srt": lambda: to_srt(analysis),
        "ass": lambda: to_ass(analysis, culture, age, overrides, size),
    }
    if "html" in paths:
        page = paths["html"]
        href = Path(os.path.relpath(Path(media).resolve(), page.parent.resolve())).as_posix() if media else None
        makers["html"] = lambda: render_page(analysis, media_href=href, culture=culture, age=age, overrides=overrides,
                                             embed_media=media if embed_video else None)
    written: list[Path] = []
    try:
        for fmt in sorted(paths, key=lambda f: f == "html"):
            remove_stale_temporaries(paths[fmt])
            text = makers[fmt]()
            (write_page if fmt == "html" else atomic_write_text)(paths[fmt], text)
            written.append(paths[fmt])
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return [paths[fmt] for fmt in FORMATS if fmt in paths]  # page first, as before
