"""Advanced SubStation Alpha subtitles of an analysis: what ``burn`` draws into the picture.

One style per emotion from the typography mapper, ``\\kf`` karaoke timing per word and the
word's own colour, size, weight and slant as overrides; fonts by the names libass finds in the
package's ``fonts/`` folder. Braces and backslashes in the transcript are escaped, so no word
can become an override tag.
"""

from __future__ import annotations

from ..document import Analysis
from ..colour import mix, parse_hex
from ..style import Style
from ..typography import WordStyle, style_word
from .subtitles import WORD_JOINER, class_name, cue_bounds, cue_lines, label_styles, plain

__all__ = ["ASS_FONT_NAMES", "to_ass"]

# libass matches fonts by the family name inside the file, which for some of the bundled WOFF2
# files is not the CSS family the page uses (tests/test_exports.py checks these against fc-scan).
ASS_FONT_NAMES = {"Fredoka": "Fredoka Light", "Merriweather": "Merriweather Light 18pt"}
_DEFAULT_SIZE = (1920, 1080)  # play resolution when the media has no picture


def _ass_escape(text: str) -> str:
    # A word joiner after each backslash keeps "\N", "\h" literal; libass reads "\{" as a brace.
    text = plain(text).replace("\\", "\\" + WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_colour(color: str, alpha: int = 0) -> str:
    """"#rrggbb" as ASS writes colours: &HAABBGGRR (alpha 0 is opaque)."""
    r, g, b = (round(c * 255) for c in parse_hex(color))
    return f"&H{alpha:02X}{b:02X}{g:02X}{r:02X}"


def _dim(color: str, background: str) -> str:
    """``color`` moved 55% of the way to ``background``: a word not yet spoken."""
    return mix(color, background, 0.55)


def _ass_clock(seconds: float) -> str:
    cs = max(0, int(round(seconds * 100)))
    h, rest = divmod(cs, 360_000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h:d}:{m:02d}:{s:02d}.{cs:02d}"


def _font_name(family: str) -> str:
    return ASS_FONT_NAMES.get(family, family)


def _style_line(name: str, style: WordStyle, base: float, height: int) -> str:
    size = base * style.size
    fields = [name, _font_name(style.font_family), f"{size:.0f}", _ass_colour(style.color),
              _ass_colour(_dim(style.color, style.background)), _ass_colour(style.background),
              _ass_colour(style.background, 0x40), "-1" if style.weight >= 600 else "0",
              "-1" if style.italic else "0", "0", "0", "100", "100", f"{style.letter_spacing * size:.1f}",
              "0", "3", f"{base * 0.18:.1f}", "0", "2", "40", "40", f"{height * 0.06:.0f}", "1"]
    return "Style: " + ",".join(fields)


def _word_overrides(own: WordStyle, preset: WordStyle, base: float) -> str:
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


def to_ass(analysis: Analysis, style: Style | None = None, size: tuple[int, int] | None = None) -> str:
    """Advanced SubStation Alpha with one style per emotion and ``\\kf`` karaoke per word.

    ``size`` is the video's (width, height), so that sizes in the file are its pixels.
    """
    width, height = size or _DEFAULT_SIZE
    base = height * 0.06  # caption text size: 6% of the picture height
    style = style or Style()
    styles = label_styles(analysis, style)
    names = {label: class_name(label) for label in styles}
    title = plain(analysis.source).replace("\\", "/")
    out = ["[Script Info]", "; written by sentimentogram", f"Title: {title}", "ScriptType: v4.00+",
           f"PlayResX: {width}", f"PlayResY: {height}", "WrapStyle: 0", "ScaledBorderAndShadow: yes",
           "YCbCr Matrix: None", "", "[V4+ Styles]",
           "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
           "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
           "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
           _style_line("Default", styles["neutral"], base, height)]
    out += [_style_line(names[label], preset, base, height) for label, preset in styles.items()]
    out += ["", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]
    for line in cue_lines(analysis):
        start, end = cue_bounds(line)
        origin = int(round(start * 100))  # karaoke durations count from the event's rounded start
        cursor, text = origin, []
        for w in line.words:
            label = w.emotion.emotion if w.emotion.emotion in styles else "neutral"
            preset = styles[label]
            own = style_word(w.emotion, style.culture, style.age, style.overrides)
            word = w.text.strip()
            word = word.upper() if own.text_transform == "uppercase" else word
            w_start = max(cursor, int(round(w.start * 100)))
            w_end = max(w_start + 1, int(round(w.end * 100)))
            gap = f"{{\\k{w_start - cursor}}}" if w_start > cursor else ""
            space = " " if text else ""
            tags = f"\\r{names[label]}{_word_overrides(own, preset, base)}\\kf{w_end - w_start}"
            text.append(f"{gap}{{{tags}}}{space}{_ass_escape(word)}")
            cursor = w_end
        cue_style = names.get(line.words[0].emotion.emotion, "Default")
        out.append(f"Dialogue: 0,{_ass_clock(start)},{_ass_clock(max(end, cursor / 100))},{cue_style},,0,0,0,,"
                   + "".join(text))
    return "\n".join(out) + "\n"
