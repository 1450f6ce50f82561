"""Advanced SubStation Alpha subtitles of an analysis: the ``ass`` export, and what ``burn``
draws into the picture.

One style per emotion from the typography mapper, and each word's own font, colour, size, weight
and slant as overrides, fonts by the names libass finds in the package's ``fonts/`` folder. A
word not yet spoken is drawn in a dimmer colour that still keeps the culture's contrast (4.5:1,
7:1 for ``accessible``) on the caption box behind it; an emphasised word (prosody) is bold.

Two timings: the export (``per_word=False``) is one event per cue with ``\\kf`` karaoke, which
editors and players read; the burn (``per_word=True``) is one event per change of the active
word, because ``\\k`` can only recolour a word, while the active word is also enlarged and
underlined as on the page. Cues come from the captions' segmentation when the analysis has it,
else one per line. When the analysis found two or more speakers, each has a style of its own
(``speaker-a``…: the neutral style in the speaker's colour) that its events take, with the
speaker's name in the event's Name (actor) field, as subtitle editors group them; the words keep
their emotion's look. Braces and backslashes in the transcript are escaped, so no word can become
an override tag.
"""

from __future__ import annotations

from dataclasses import replace

from ..colour import ensure_contrast, mix, parse_hex
from ..document import AnalysedWord, Analysis
from ..emphasis_style import emphasise
from ..style import Style
from ..typography import MIN_CONTRAST, WordStyle, style_word
from .layout import CaptionLayout, caption_layout
from ..captions import CaptionRules
from .subtitles import WORD_JOINER, class_name, label_styles, plain, speaker_colours, speaker_names, styled_cues

__all__ = ["ASS_FONT_NAMES", "ACTIVE_SCALE", "BURN_HEADROOM", "not_yet_colour", "ass_font_name", "caption_cues", "to_ass"]

# libass matches fonts by the family name inside the file, which for some of the bundled WOFF2
# files is not the CSS family the page uses (tests/test_exports.py checks these against fc-scan).
ASS_FONT_NAMES = {"Fredoka": "Fredoka Light", "Merriweather": "Merriweather Light 18pt"}
ACTIVE_SCALE = 108  # percent: the word being spoken, as the page's `.word.active { scale: 1.08 }`
_DEFAULT_SIZE = (1920, 1080)  # play resolution when the media has no picture
# The burn aims this many times the culture's minimum contrast: x264 takes some off thin strokes
# (4:2:0 chroma desaturates red; mid-grey on black loses levels): #9c9c9c on black, 7.65:1,
# decoded at about 6.5:1 (benchmarks/burn.py measures every colour on decoded frames).
BURN_HEADROOM = 1.2
_BOX_PADDING = 0.18  # the caption box reaches this share of the text size beyond the glyphs
# Margins keep twice that from the safe area's edge: the box, and the active word's 108% scale.


def _ass_escape(text: str) -> str:
    # A word joiner after each backslash keeps "\N", "\h" literal; libass reads "\{" as a brace.
    text = plain(text).replace("\\", "\\" + WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_colour(color: str, alpha: int = 0) -> str:
    """"#rrggbb" as ASS writes colours: &HAABBGGRR (alpha 0 is opaque)."""
    r, g, b = (round(c * 255) for c in parse_hex(color))
    return f"&H{alpha:02X}{b:02X}{g:02X}{r:02X}"


def not_yet_colour(color: str, background: str, minimum: float = 4.5) -> str:
    """A word not yet spoken: ``color`` 45% of the way to ``background``, then moved back just
    far enough to keep ``minimum`` contrast on that background."""
    return ensure_contrast(mix(color, background, 0.45), background, minimum)


def _ass_clock(seconds: float) -> str:
    cs = max(0, int(round(seconds * 100)))
    return _clock_cs(cs)


def _clock_cs(cs: int) -> str:
    h, rest = divmod(cs, 360_000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h:d}:{m:02d}:{s:02d}.{cs:02d}"


def ass_font_name(family: str) -> str:
    """The name libass knows a bundled family by (the others are their own)."""
    return ASS_FONT_NAMES.get(family, family)


def _style_line(name: str, style: WordStyle, layout: CaptionLayout, minimum: float) -> str:
    base = layout.font_size
    size = base * style.size
    pad = base * _BOX_PADDING
    fields = [name, ass_font_name(style.font_family), f"{size:.0f}", _ass_colour(style.color),
              _ass_colour(not_yet_colour(style.color, style.background, minimum)), _ass_colour(style.background),
              _ass_colour(style.background, 0x40), "-1" if style.weight >= 600 else "0",
              "-1" if style.italic else "0", "0", "0", "100", "100", f"{style.letter_spacing * size:.1f}",
              "0", "3", f"{pad:.1f}", "0", str(layout.alignment), str(round(layout.margin_l + 2 * pad)),
              str(round(layout.margin_r + 2 * pad)), str(round(layout.margin_v + 2 * pad)), "1"]
    return "Style: " + ",".join(fields)


def _word_overrides(own: WordStyle, preset: WordStyle, base: float, minimum: float) -> str:
    """The word's own style where it differs from its emotion's preset (confidence, VAD)."""
    tags = []
    if own.font_family != preset.font_family:
        tags.append(f"\\fn{ass_font_name(own.font_family)}")
    if own.size != preset.size:
        tags.append(f"\\fs{base * own.size:.0f}")
    if own.color != preset.color or own.background != preset.background:
        tags += [f"\\1c{_ass_colour(own.color)}",
                 f"\\2c{_ass_colour(not_yet_colour(own.color, own.background, minimum))}"]
    if own.background != preset.background:
        tags.append(f"\\3c{_ass_colour(own.background)}")
    if (own.weight >= 600) != (preset.weight >= 600):
        tags.append(f"\\b{1 if own.weight >= 600 else 0}")
    if own.italic != preset.italic:
        tags.append(f"\\i{1 if own.italic else 0}")
    if own.letter_spacing != preset.letter_spacing:
        tags.append(f"\\fsp{own.letter_spacing * base * own.size:.1f}")
    return "".join(tags)


def caption_cues(analysis: Analysis, style: Style | None = None, rules: CaptionRules | None = None
                 ) -> list[tuple[float, float, list[list[AnalysedWord]]]]:
    """(start, end, text lines of words) of each caption: the cues VTT, SRT and the page show for
    this style (its age group's reading speed, or ``rules``), each shown until the next starts."""
    words = analysis.words
    cues = [(c.start, c.end, [words[a:b] for a, b in c.lines if b > a]) for c in styled_cues(analysis, style, rules)]
    cues = [(start, max(end, start + 0.01), lines) for start, end, lines in cues if any(lines)]
    return [(start, min(end, cues[k + 1][0]) if k + 1 < len(cues) and cues[k + 1][0] > start else end, lines)
            for k, (start, end, lines) in enumerate(cues)]


class _Writer:
    """What every word of one analysis looks like in one style and layout."""

    def __init__(self, analysis: Analysis, style: Style, layout: CaptionLayout):
        self.style, self.layout = style, layout
        self.styles = label_styles(analysis, style)
        self.names = {label: class_name(label) for label in self.styles}
        self.minimum = max(4.5, MIN_CONTRAST.get(style.culture, 4.5))
        self.speakers = speaker_names(analysis)  # {} unless two or more speakers: no speaker styles
        self.speaker_colours = speaker_colours(analysis)

    def label(self, w: AnalysedWord) -> str:
        return w.emotion.emotion if w.emotion.emotion in self.styles else "neutral"

    def word(self, w: AnalysedWord, state: str = "") -> tuple[str, str]:
        """(override tags, escaped text) of a word; ``state`` "active", "spoken" or "not-yet"
        (the burn), or "" (the export: the style's karaoke colours)."""
        label = self.label(w)
        preset = self.styles[label]
        own = style_word(w.emotion, self.style.culture, self.style.age, self.style.overrides)
        emphasised = w.emphasised and getattr(self.style, "emphasis", "prosody") != "off"
        if emphasised:  # as the page draws it: heavier and spaced by the word's own prosody
            own = emphasise(own, w, self.style.culture, self.style.age)
        text = w.text.strip()
        text = text.upper() if own.text_transform == "uppercase" else text
        tags = f"\\r{self.names[label]}{_word_overrides(own, preset, self.layout.font_size, self.minimum)}"
        if emphasised:
            tags += "\\b1"
        burned = self.minimum * BURN_HEADROOM
        if state == "not-yet":
            tags += f"\\1c{_ass_colour(not_yet_colour(own.color, own.background, burned))}"
        elif state and ensure_contrast(own.color, own.background, burned) != own.color:
            tags += f"\\1c{_ass_colour(ensure_contrast(own.color, own.background, burned))}"
        if state == "active":
            tags += f"\\fscx{ACTIVE_SCALE}\\fscy{ACTIVE_SCALE}\\u1"
        return tags, _ass_escape(text)

    def header(self, analysis: Analysis) -> list[str]:
        title = plain(analysis.source).replace("\\", "/")
        layout = self.layout
        out = ["[Script Info]", "; written by sentimentogram", f"Title: {title}", "ScriptType: v4.00+",
               f"PlayResX: {layout.width}", f"PlayResY: {layout.height}", "WrapStyle: 0",
               "ScaledBorderAndShadow: yes", "YCbCr Matrix: None", "", "[V4+ Styles]",
               "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
               "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
               "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
               _style_line("Default", self.styles["neutral"], layout, self.minimum)]
        out += [_style_line(self.names[label], preset, layout, self.minimum) for label, preset in self.styles.items()]
        neutral = self.styles["neutral"]
        out += [_style_line(class_name(f"speaker-{sid}"), replace(neutral, color=ensure_contrast(
            self.speaker_colours[sid], neutral.background, self.minimum)), layout, self.minimum) for sid in self.speakers]
        return out + ["", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]

    def cue_style(self, lines: list[list[AnalysedWord]]) -> str:
        if lines and lines[0] and lines[0][0].speaker in self.speakers:
            return f"{class_name('speaker-' + lines[0][0].speaker)},{self.speakers[lines[0][0].speaker].replace(',', ' ')}"
        return (self.names.get(lines[0][0].emotion.emotion, "Default") if lines and lines[0] else "Default") + ","

    def karaoke(self, start: float, end: float, lines: list[list[AnalysedWord]]) -> str:
        """One event with ``\\kf`` karaoke per word (the export)."""
        origin = int(round(start * 100))  # karaoke durations count from the event's rounded start
        cursor, parts = origin, []
        for line in lines:
            text = []
            for w in line:
                tags, word = self.word(w)
                if not word:
                    continue
                w_start = max(cursor, int(round(w.start * 100)))
                w_end = max(w_start + 1, int(round(w.end * 100)))
                gap = f"{{\\k{w_start - cursor}}}" if w_start > cursor else ""
                text.append(f"{gap}{{{tags}\\kf{w_end - w_start}}}{' ' if text else ''}{word}")
                cursor = w_end
            parts.append("".join(text))
        body = "\\N".join(p for p in parts if p)
        return (f"Dialogue: 0,{_ass_clock(start)},{_clock_cs(max(int(round(end * 100)), cursor))},"
                f"{self.cue_style(lines)},0,0,0,,{body}")

    def per_word(self, start: float, end: float, lines: list[list[AnalysedWord]]) -> list[str]:
        """One event per stretch of time in which no word starts or ends (the burn): the words
        before it spoken, the one being said active, the rest not yet spoken."""
        cs, ce = int(round(start * 100)), int(round(end * 100))
        ce = max(ce, cs + 1)
        timed = [(max(cs, min(ce, int(round(w.start * 100)))), max(cs, min(ce, int(round(w.end * 100)))))
                 for line in lines for w in line]
        bounds = sorted({cs, ce, *(t for pair in timed for t in pair)})
        style = self.cue_style(lines)
        events = []
        for a, b in zip(bounds, bounds[1:]):
            k, parts = 0, []
            for line in lines:
                text = []
                for w in line:
                    ws, we = timed[k]
                    k += 1
                    state = "not-yet" if ws > a else "active" if a < we else "spoken"
                    tags, word = self.word(w, state)
                    if word:
                        text.append(f"{{{tags}}}{word}")
                parts.append("{\\r} ".join(text))
            body = "\\N".join(p for p in parts if p)
            events.append(f"Dialogue: 0,{_clock_cs(a)},{_clock_cs(b)},{style},0,0,0,,{body}")
        return events


def to_ass(analysis: Analysis, style: Style | None = None, size: tuple[int, int] | None = None, *,
           layout: CaptionLayout | None = None, per_word: bool = False, rules: CaptionRules | None = None) -> str:
    """Advanced SubStation Alpha with one style per emotion.

    ``size`` is the video's (width, height), so that sizes in the file are its pixels; ``layout``
    (default: ``caption_layout`` of that size) places the captions. ``per_word``: one event per
    change of the active word (the burn) instead of ``\\kf`` karaoke in one event per cue.
    ``rules``: the caption rules (default: the style's, as for VTT and SRT).
    """
    layout = layout or caption_layout(*(size or _DEFAULT_SIZE))
    writer = _Writer(analysis, style or Style(), layout)
    out = writer.header(analysis)
    for start, end, lines in caption_cues(analysis, style, rules):
        if per_word:
            out += writer.per_word(start, end, lines)
        else:
            out.append(writer.karaoke(start, end, lines))
    return "\n".join(out) + "\n"
