"""Subtitle text of an analysis: WebVTT and SRT, and what every subtitle format shares (the
cues and the rules they are cut by, a style per label, names safe as CSS classes and ASS styles).

Cues come from ``captions`` (the subtitle rules: 42 characters a line, 2 lines, 5/6 s to 7 s,
the style's reading speed): the analysis' own cues when they were cut by the same rules,
otherwise cut now. Every format shows the same cues.

- WebVTT: one cue per caption, one or two lines, each word in ``<c.emotion>`` with an inline
  timestamp (karaoke in players that support ``:past``/``:future``), and a STYLE block with one
  rule per emotion.
- SRT: plain text, one numbered cue per caption, one or two lines.
- Speakers (when the analysis found two or more): VTT opens each line with the speaker's voice
  tag ``<v Name>``, SRT the cue where a new speaker's turn starts with "[Name] "; a cue whose two lines are two speakers' (the subtitle convention for quick
  exchanges) starts each line with "- " in VTT and SRT. Cues cut by ``captions`` never span a
  change of speaker, so that happens only in cues cut elsewhere.

Transcript text is escaped for each format (VTT ``& < >``, so no ``-->``; SRT markup look-alikes
broken by a word joiner), so no word can become markup or a timing line.
"""

from __future__ import annotations

import re

from ..captions import CaptionRules, cues_for
from ..constants import SPEAKER_COLOURS
from ..document import AnalysedWord, Analysis, Cue, Line
from ..style import Style
from ..style_file import caption_rules
from ..typography import WordStyle, css_font_stack

__all__ = ["WORD_JOINER", "speaker_names", "speaker_colours", "row_speakers", "label_styles", "class_name", "cue_lines", "cue_bounds", "plain", "caption_rules_for",
           "styled_cues", "to_vtt", "to_srt"]

WORD_JOINER = "\u2060"


# ---- what every format shares ----------------------------------------------------------------

def speaker_names(analysis: Analysis) -> dict[str, str]:
    """Each speaker's name by id, when the analysis found two or more (else {}: no markup)."""
    if len(analysis.speakers) < 2:
        return {}
    return {s.id: plain(s.name) or s.id for s in analysis.speakers}


def speaker_colours(analysis: Analysis) -> dict[str, str]:
    """A colour per speaker id (``constants.SPEAKER_COLOURS`` in the document's order)."""
    return {s.id: SPEAKER_COLOURS[k % len(SPEAKER_COLOURS)] for k, s in enumerate(analysis.speakers)}


def row_speakers(words: list[AnalysedWord], cue: Cue) -> tuple[list[str | None], bool]:
    """The speaker of each text line of ``cue`` (its first word's), and whether the cue holds
    two speakers' lines (then each line is marked "- ")."""
    who = [words[first].speaker if stop > first else None for first, stop in cue.lines]
    return who, len({s for s in who if s is not None}) > 1


def label_styles(analysis: Analysis, style: Style) -> dict[str, WordStyle]:
    """A word style per label of the analysis; labels outside the presets take the neutral one."""
    table = style.table()
    return {label: table.get(label, table["neutral"]) for label in [*table, *analysis.labels]}


def class_name(label: str) -> str:
    """A label as a CSS class / ASS style name: lowercase letters, digits, '-' and '_' only."""
    name = re.sub(r"[^a-z0-9_-]+", "-", label.lower()).strip("-") or "x"
    return name if name[0].isalpha() else f"e-{name}"


def caption_rules_for(style: Style | None = None, reading_speed: float | None = None) -> CaptionRules:
    """The caption rules of a style: its age group's reading speed, its style file's
    ``[captions]`` table, then ``reading_speed`` when given."""
    style = style or Style()
    return caption_rules(style.age, style.style_file, reading_speed)


def styled_cues(analysis: Analysis, style: Style | None = None, rules: CaptionRules | None = None) -> list[Cue]:
    """The cues every format shows for ``analysis`` under ``rules`` (default: the style's)."""
    return cues_for(analysis, rules or caption_rules_for(style))


def cue_lines(analysis: Analysis) -> list[Line]:
    """The recogniser's lines that have words (utterance pieces; captions use ``styled_cues``)."""
    return [line for line in analysis.lines if line.words]


def cue_bounds(line: Line) -> tuple[float, float]:
    """(start, end) of a line's cue, in seconds: its words included, never empty."""
    start = min(line.start, line.words[0].start)
    end = max(line.end, line.words[-1].end, start + 0.01)  # cues must not be empty in time
    return start, end


def clock(seconds: float, separator: str) -> str:
    """``HH:MM:SS<separator>mmm``: WebVTT's timestamps with ".", SRT's with ","."""
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def plain(text: str) -> str:
    """``text`` on one line, runs of white space made single spaces."""
    return " ".join(text.split())  # no newline may end a cue early


# ---- WebVTT -----------------------------------------------------------------------------------

def _vtt_escape(text: str) -> str:
    text = plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\\", "\\" + WORD_JOINER)  # ffmpeg would read "\N" as a line break


def _css_rule(selector: str, style: WordStyle) -> str:
    parts = [f"color: {style.color}", f"background-color: {style.background}",
             f"font-family: {css_font_stack(style.font_family)}", f"font-weight: {style.weight}",
             f"font-style: {'italic' if style.italic else 'normal'}"]
    if style.letter_spacing:
        parts.append(f"letter-spacing: {style.letter_spacing:.3f}em")
    return f"{selector} {{ {'; '.join(parts)}; }}"


def _stressed(word: str, w, style: Style | None) -> str:
    """An emphasised word in <b> (players show it bold, screen readers can announce it), unless
    the style turns emphasis off (issue 20)."""
    return f"<b>{word}</b>" if w.emphasised and (style is None or style.emphasis == "prosody") else word


def to_vtt(analysis: Analysis, style: Style | None = None, rules: CaptionRules | None = None) -> str:
    """WebVTT text: a STYLE block with a class per emotion, one cue per caption (``rules``,
    default: the style's), one <c.emotion> per word; ``<v Name>`` opens a speaker's line."""
    names = speaker_names(analysis)  # {} for a monologue or when speakers were off: no voice tags
    styles = label_styles(analysis, style or Style())
    words, cues = analysis.words, styled_cues(analysis, style, rules)  # before `rules` means CSS
    rules = [_css_rule("::cue", styles["neutral"])]
    rules += [_css_rule(f"::cue(.{class_name(label)})", style) for label, style in styles.items()]
    # LF line ends throughout, as editors and `cat` expect. (ffmpeg before 6.0 stops reading at a
    # STYLE block; `burn` never hands it a VTT, and the SRT and ASS carry the same cues.)
    out = ["WEBVTT", "", "STYLE", *rules, ""]
    for n, cue in enumerate(cues, 1):
        start, end = cue.start, cue.end
        rows, last = [], start
        who, dialogue = row_speakers(words, cue) if names else ([None] * len(cue.lines), False)
        for k, (first, stop) in enumerate(cue.lines):
            text = []
            if who[k] in names and (k == 0 or who[k] != who[k - 1]):
                text.append(f"<v {_vtt_escape(names[who[k]])}>")
            if dialogue:
                text.append("- ")
            for w in words[first:stop]:
                word = _vtt_escape(w.text)
                if not word:
                    continue
                # Inline timestamps must lie strictly inside the cue and increase.
                stamp = f"<{clock(w.start, '.')}>" if start < w.start < end and w.start > last else ""
                last = max(last, w.start) if stamp else last
                space = " " if text and not text[-1].endswith("- ") and not text[-1].startswith("<v ") else ""
                text.append(f"{space}{stamp}<c.{class_name(w.emotion.emotion)}>{_stressed(word, w, style)}</c>")
            rows.append("".join(text))
        text = "\n".join(row for row in rows if row) or "…"
        out += [str(n), f"{clock(start, '.')} --> {clock(end, '.')}", text, ""]
    return "\n".join(out)


# ---- SRT --------------------------------------------------------------------------------------

def _srt_escape(text: str) -> str:
    # "-->" is the timing arrow: a transcript must not be able to fake one.
    # SRT has no escapes, but players read <b> and {\b1} as markup: a word joiner after
    # "<" and "\" and full-width braces keep the words as they were said.
    text = plain(text).replace("-->", "->").replace("<", "<" + WORD_JOINER)
    return text.replace("\\", "\\" + WORD_JOINER).replace("{", "\uff5b").replace("}", "\uff5d")


def to_srt(analysis: Analysis, style: Style | None = None, rules: CaptionRules | None = None) -> str:
    """SubRip text: plain, one numbered cue per caption (``rules``, default: the style's), one or
    two lines; with two or more speakers, "[Name] " opens the cue where a new speaker's turn
    starts (SRT has no colours or voices), and "- " each line of a cue two speakers share."""
    words, out, names, previous = analysis.words, [], speaker_names(analysis), None
    for n, cue in enumerate(styled_cues(analysis, style, rules), 1):
        rows = [_srt_escape("".join(w.text for w in words[first:stop])) for first, stop in cue.lines]
        who, dialogue = row_speakers(words, cue)
        if dialogue:  # two speakers share the cue: "- " opens each one's line
            rows = [f"- {row}" if row else row for row in rows]
        elif names and who and who[0] in names and who[0] != previous and rows:
            rows[0] = f"[{_srt_escape(names[who[0]])}] {rows[0]}"
        previous = who[-1] if who else previous
        text = "\n".join(row for row in rows if row) or "…"
        out += [str(n), f"{clock(cue.start, ',')} --> {clock(cue.end, ',')}", text, ""]
    return "\n".join(out)
