"""The page: one self-contained HTML file with the media, the styled captions and the player.

Everything the page needs is inside it (CSS, JS, fonts as base64 WOFF2, the analysis JSON and the
styles of every word for every culture and age, so switching them is live); only the media sits
beside it, by relative path, unless it is embedded too. The page makes no network request.
When the analysis found two or more speakers, each turn in the transcript opens with the
speaker's name on a chip of their colour, the caption shows whose line it is, a legend gives each
speaker's talk time and emotion mix, and the transcript panel can be filtered by speaker.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from ..captions import CaptionRules, cues_for
from ..document import Analysis, AnalysedWord, Prosody, WordEmotion
from ..assets import resource_dir
from ..constants import AGE_GROUPS, CULTURES, EMOTIONS
from ..emphasis_style import emphasise
from ..errors import InputError
from ..fonts import font_face_rule
from ..style import Style
from ..style_file import caption_rules
from ..typography import (FONT_FACES, StyleOverrides, WordStyle, css_font_stack, style_table,
                          style_word)
from .subtitles import speaker_colours, speaker_names
from .templates import environment, inline_asset

__all__ = ["STYLE_FIELDS", "render_page", "json_for_script", "media_href_for", "font_face_css"]

# The order of a style's fields in the page's legend rows (player.js reads the same order).
STYLE_FIELDS = ("color", "background", "font", "size", "weight", "italic", "letter_spacing",
                "text_transform", "animation", "animation_strength", "baseline_shift")
# Fields with few distinct values travel as one character per word, an index into a vocabulary.
_CATEGORICAL = ("background", "font", "text_transform", "animation")
_CODES = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Numeric fields travel as integers (the style is already rounded to these steps), each column as
# {"values": [its distinct integers], "codes": one character per word, an index into values}.
_INTEGER_SCALE = {"size": 100, "weight": 1, "letter_spacing": 1000, "animation_strength": 100,
                  "baseline_shift": 100}
# What the legend says the look means, per culture (the accessible preset: colour and weight only).
_LEGEND_NOTES = {
    "accessible": "Colour: the emotion. Bold: an emphasised word, said louder, higher or longer than "
                  "the speaker's usual.",
    "*": "Colour follows the emotion, size the arousal, weight and slant the dominance. Emphasised "
         "words (said louder, higher or longer than the speaker's usual) are heavier, raised or "
         "lowered with the pitch, and spaced out when drawn out.",
}


def json_for_script(data: object) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``.

    With those three escaped as ``\\u003c`` etc. no transcript text can close the script element
    or open a comment, and JSON.parse still reads the exact strings back.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def media_href_for(relative_path: str) -> str:
    """A relative file path as a URL: spaces and non-ASCII names percent-encoded (UTF-8)."""
    return quote(relative_path.replace("\\", "/"), safe="/")


@lru_cache(maxsize=1)
def font_face_css() -> str:
    """The ``@font-face`` rules of every bundled font, each a base64 WOFF2 data: URI."""
    fonts = resource_dir("fonts")
    rules = []
    for face in FONT_FACES:
        data = base64.b64encode((fonts / face.file).read_bytes()).decode("ascii")
        rules.append(
            f'@font-face{{font-family:"{face.family}";font-style:{face.style};font-weight:{face.weight};'
            f'font-display:block;src:url(data:font/woff2;base64,{data}) format("woff2")}}'
        )
    return "\n".join(rules)


def _style_row(style: WordStyle) -> list:
    return [style.color, style.background, css_font_stack(style.font_family), style.size, style.weight,
            int(style.italic), style.letter_spacing, style.text_transform, style.animation,
            style.animation_strength, style.baseline_shift]


class _ColumnStore:
    """Every word's style for every culture and age, as columns shared wherever they are equal.

    A talk has thousands of words and 12 culture/age pairs; colours do not depend on age, many
    fields do not depend on either, so equal columns are stored once (a 10-minute talk stays well
    under a megabyte of styles).
    """

    def __init__(self) -> None:
        self.columns: list = []
        self._ids: dict[str, int] = {}
        self.vocabulary: dict[str, list[str]] = {name: [] for name in _CATEGORICAL}

    def _add(self, column) -> int:
        key = json.dumps(column)
        if key not in self._ids:
            self._ids[key] = len(self.columns)
            self.columns.append(column)
        return self._ids[key]

    def _code(self, field: str, value: str) -> str:
        vocabulary = self.vocabulary[field]
        if value not in vocabulary:
            if len(vocabulary) == len(_CODES):
                raise ValueError(f"more than {len(_CODES)} distinct values of {field} in one page")
            vocabulary.append(value)
        return _CODES[vocabulary.index(value)]

    @staticmethod
    def _numeric(integers: list[int]):
        """A numeric column: one character per word, an index into its own list of values, when
        it has few enough distinct values (it nearly always has); else the plain list of integers."""
        values = list(dict.fromkeys(integers))
        if len(values) > len(_CODES):
            return integers
        index = {v: _CODES[k] for k, v in enumerate(values)}
        return {"values": values, "codes": "".join(index[v] for v in integers)}

    def add_styles(self, styles: list[WordStyle]) -> dict[str, int]:
        rows = [_style_row(style) for style in styles]
        column_of = {}
        for k, field in enumerate(STYLE_FIELDS):
            values = [row[k] for row in rows]
            if field == "color":
                column = "".join(v[1:] for v in values)
            elif field == "italic":
                column = "".join(str(v) for v in values)
            elif field in _CATEGORICAL:
                column = "".join(self._code(field, v) for v in values)
            else:
                column = self._numeric([round(v * _INTEGER_SCALE[field]) for v in values])
            column_of[field] = self._add(column)
        return column_of


# The legend's sample of an emphasised word: 6 dB louder, 3 semitones higher, 1.4 times as long.
_SAMPLE_STRESS = AnalysedWord(text="emphasis", start=0.0, end=0.5, probability=1.0,
                              emotion=WordEmotion("neutral", 1.0, {"neutral": 1.0}, 0.5, 0.2, 0.4, 0.5, 0.5),
                              prosody=Prosody(6.0, 3.0, 1.4), emphasis=0.9, emphasised=True)


def _line_gates(words: list[AnalysedWord]) -> tuple[float, float]:
    """Duration-weighted mean of the words' gates: the line's share of audio and of text."""
    weights = [max(w.end - w.start, 1e-3) for w in words]
    total = sum(weights) or 1.0
    audio = sum(w.emotion.audio_gate * k for w, k in zip(words, weights)) / total
    return round(audio, 3), round(1.0 - audio, 3)


def _rounded(value, digits: int = 3):
    """The analysis with its floats rounded: the page's copy need not carry 17 digits per number."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    return value


def _player_analysis(analysis: Analysis) -> dict:
    """The page's copy of the analysis: only what player.js reads, floats rounded to 3 digits.

    The full document (every probability, gate and VAD value) is what ``--json`` writes; a page
    that carried it would grow by some 330 bytes per word. The shape stays that of the document
    (lines of words, each with its ``emotion``), so anything reading ``#analysis`` still works.
    """
    return _rounded({
        "source": analysis.source,
        "media_kind": analysis.media_kind,
        "duration": analysis.duration,
        "language": analysis.language,
        "lines": [{"start": line.start, "end": line.end,
                   "words": [{"text": w.text, "start": w.start, "end": w.end,
                              "emotion": {"emotion": w.emotion.emotion, "arousal": w.emotion.arousal},
                              **({"emphasised": True} if w.emphasised else {})}
                             for w in line.words]}
                  for line in analysis.lines],
    })


def _page_data(analysis: Analysis, culture: str, age: str, overrides: StyleOverrides | None,
               emphasis: str = "prosody") -> dict:
    store = _ColumnStore()
    words = analysis.words
    combos, emphasised, legend, legend_emphasis = {}, {}, {}, {}
    for c in CULTURES:
        for a in AGE_GROUPS:
            plain = [style_word(w.emotion, c, a, overrides) for w in words]
            combos[f"{c}/{a}"] = store.add_styles(plain)
            # The same words with their emphasis drawn on: only weight, spacing and shift columns differ.
            emphasised[f"{c}/{a}"] = store.add_styles([emphasise(s, w, c, a) for s, w in zip(plain, words)])
            table = style_table(c, a, overrides)
            legend[f"{c}/{a}"] = {e: _style_row(s) for e, s in table.items()}
            legend_emphasis[f"{c}/{a}"] = _style_row(emphasise(table["neutral"], _SAMPLE_STRESS, c, a))
    lines, first = [], 0
    for line in analysis.lines:
        if not line.words:
            continue
        audio, text = _line_gates(line.words)
        lines.append({"start": line.start, "end": line.end, "first": first, "count": len(line.words),
                      "audio": audio, "text": text, "speaker": line.speaker})
        first += len(line.words)
    return {
        "fields": STYLE_FIELDS,
        "scale": _INTEGER_SCALE,
        "vocabulary": store.vocabulary,
        "codes": _CODES,
        "columns": store.columns,
        "combos": combos,
        "legend": legend,
        "emotions": list(EMOTIONS),
        "lines": lines,
        "emphasised": emphasised,
        "legend_emphasis": legend_emphasis,
        "notes": {c: _LEGEND_NOTES.get(c, _LEGEND_NOTES["*"]) for c in CULTURES},
        "initial": {"culture": culture, "age": age, "emphasis": emphasis == "prosody"},
        "speakers": [{"id": s["id"], "name": s["name"], "colour": s["colour"]} for s in _speaker_summary(analysis)],
    }


def _speaker_summary(analysis: Analysis) -> list[dict]:
    """Per speaker (two or more found): id, name, colour, talk time and the emotion mix of their
    words (share of their speaking time, the three largest), for the legend."""
    names, colours = speaker_names(analysis), speaker_colours(analysis)
    out = []
    for s in analysis.speakers:
        if s.id not in names:
            continue
        mix: dict[str, float] = {}
        for w in analysis.words:
            if w.speaker == s.id:
                mix[w.emotion.emotion] = mix.get(w.emotion.emotion, 0.0) + max(w.end - w.start, 1e-3)
        total = sum(mix.values()) or 1.0
        top = sorted(mix.items(), key=lambda kv: -kv[1])[:3]
        out.append({"id": s.id, "name": names[s.id], "colour": colours[s.id], "talk_time": s.talk_time,
                    "mix": [(e, round(100 * v / total)) for e, v in top]})
    return out


def _media_src(analysis: Analysis, media: str | Path | None, embed: bool) -> str | None:
    if media is None:
        return None
    if not embed:  # a range of the recording (render --start/--end): a media fragment plays just it
        span = analysis.settings.get("range")
        return media_href_for(str(media)) + (f"#t={span}" if isinstance(span, str) and span else "")
    path = Path(media)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot embed {path}: {exc.strerror or exc}") from exc
    mime = mimetypes.guess_type(path.name)[0]
    if not mime or not mime.startswith(("video/", "audio/")):
        mime = "audio/mpeg" if analysis.media_kind == "audio" else "video/mp4"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _cue_data(analysis: Analysis, style: Style, rules: CaptionRules | None = None) -> dict:
    """The captions the page shows, per age group (each at its own reading speed, so switching
    the age live switches the cues; ``rules`` for all of them when given): each cue's times, its
    words ``[first, first + count)``, where its second line starts (``breaks``) and its gates.
    ``lines``: the cues of the page's initial age group."""
    words, by_age, cut = analysis.words, {}, {}
    for age in AGE_GROUPS:
        age_rules = rules or caption_rules(age, style.style_file)
        if age_rules not in cut:
            rows = []
            for cue in cues_for(analysis, age_rules):
                first, stop = cue.lines[0][0], cue.lines[-1][1]
                audio, text = _line_gates(words[first:stop])
                rows.append({"start": cue.start, "end": cue.end, "first": first, "count": stop - first,
                             "breaks": [line[0] for line in cue.lines[1:]], "audio": audio, "text": text,
                             "speaker": words[first].speaker if stop > first else None})
            cut[age_rules] = rows
        by_age[age] = cut[age_rules]
    return {"cues": by_age, "lines": by_age[style.age]}


def render_page(analysis: Analysis, style: Style | None = None, *, media: str | Path | None = None,
                embed: bool = False, rules: CaptionRules | None = None) -> str:
    """The HTML page for ``analysis``, styled by ``style`` (default ``Style()``), as a string.

    ``media`` is the audio or video the page plays: its path relative to where the page will be
    (URL-quoted here), or with ``embed=True`` a file whose bytes go inside the page as a data:
    URI. Without it the page shows the subtitles with no player. Nothing is written.
    """
    style = style or Style()
    data = _page_data(analysis, style.culture, style.age, style.overrides, style.emphasis)
    data.update(_cue_data(analysis, style, rules))
    transcript = []
    index = 0
    names, colours, previous = speaker_names(analysis), speaker_colours(analysis), None
    for line in analysis.lines:
        if not line.words:
            continue
        speaker = line.speaker if line.speaker in names else None
        turn = speaker is not None and speaker != previous
        previous = speaker if speaker is not None else previous
        words = []
        for w in line.words:
            words.append({"i": index, "text": w.text.strip(), "start": f"{w.start:.3f}",
                          "end": f"{w.end:.3f}", "emotion": w.emotion.emotion,
                          "confidence": round(w.emotion.confidence * 100), "emphasised": w.emphasised})
            index += 1
        transcript.append({"start": line.start, "words": words, "speaker": speaker, "turn": turn,
                           "speaker_name": names.get(speaker, ""), "colour": colours.get(speaker, "")})
    return environment().get_template("page.html.j2").render(
        analysis=analysis,
        has_speech=index > 0,
        transcript=transcript,
        speakers=_speaker_summary(analysis),
        media_src=_media_src(analysis, media, embed),
        media_kind="audio" if analysis.media_kind == "audio" else "video",
        culture=style.culture,
        age=style.age,
        emphasis=style.emphasis == "prosody",
        cultures=CULTURES,
        ages=AGE_GROUPS,
        font_css=Markup(font_face_css() + font_face_rule(style.font_choice)),  # --font FILE: inside too
        player_css=inline_asset("player.css", "</style"),
        player_js=inline_asset("player.js", "</script"),
        analysis_json=json_for_script(_player_analysis(analysis)),
        page_json=json_for_script(data),
    )
