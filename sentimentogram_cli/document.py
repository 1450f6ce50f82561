"""The analysis document: what the models found, as plain dataclasses and JSON (the bottom layer).

Every other module may import this one; it imports only ``atomic`` and ``errors``. Styling and
rendering read only this document, so restyling never re-runs a model. It carries a schema
version; documents of older versions are upgraded when read.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import atomic_write_text
from .errors import DocumentError, InputError

__all__ = ["SCHEMA_VERSION", "Word", "Segment", "WordEmotion", "Prosody", "AnalysedWord", "Line", "Speaker", "Cue",
           "Analysis"]

# 2: ``settings`` holds the analysis settings only (window, hop); version 1 also recorded the
# culture and age of the last page written from it, which belong to the style, not the analysis.
# 3: each line records its ``utterance`` (lines never span two; exports cut cues there); the
# document records ``language_probability`` and the recogniser's ``notes`` (absent: 1.0, none).
# 4: per word ``speaker``, ``prosody``, ``emphasis`` and ``emphasised``; per line ``speaker``; the
# document's ``speakers`` (with talk time), ``cues`` (the caption segmentation every export shows)
# and ``caption_rules`` (the rules the cues were cut by). Version 3 documents get no speakers, no
# prosody and no cues: the writers cut cues for a document that has none.
SCHEMA_VERSION = 4


def _from_v1(data: dict) -> dict:
    settings = {k: v for k, v in data.get("settings", {}).items() if k not in ("culture", "age")}
    return {**data, "settings": settings, "schema_version": 2}


def _from_v2(data: dict) -> dict:
    # Version 2 lines were recogniser segments: each counts as an utterance of its own.
    lines = [{**line, "utterance": i} for i, line in enumerate(data.get("lines", []))]
    return {**data, "lines": lines, "schema_version": 3}


def _from_v3(data: dict) -> dict:
    # Every new field has a default, so a version 3 document only needs its number raised.
    return {**data, "schema_version": 4}


_UPGRADES = {1: _from_v1, 2: _from_v2, 3: _from_v3}  # version -> the document one version up


@dataclass
class Word:
    """A recognised word with its timing (seconds) and the recogniser's probability."""

    text: str
    start: float
    end: float
    probability: float


@dataclass
class Segment:
    """A recogniser segment: one caption line."""

    start: float
    end: float
    text: str
    words: list[Word]


@dataclass
class WordEmotion:
    """The emotion of one word: overlap-weighted mean of the windows that cover it."""

    emotion: str
    confidence: float
    probabilities: dict[str, float]
    valence: float  # 0..1
    arousal: float  # 0..1
    dominance: float  # 0..1
    audio_gate: float  # share of the decision taken from the audio, 0..1
    text_gate: float  # share taken from the words; audio_gate + text_gate == 1


@dataclass
class Prosody:
    """How one word was said, each measure against its speaker's own running baseline (so a quiet
    speaker's stressed word stands out as much as a loud speaker's)."""

    loudness_db: float  # the word's level minus the speaker's baseline level, dB
    pitch_semitones: float | None  # median pitch minus the speaker's baseline; None: unvoiced
    duration_ratio: float  # the word's duration / the duration expected for its length


@dataclass
class AnalysedWord:
    """A word of the transcript with its timing (seconds), probability and emotion; who said it
    and how (prosody, emphasis) when those stages ran."""

    text: str
    start: float
    end: float
    probability: float
    emotion: WordEmotion
    speaker: str | None = None  # a ``Speaker.id`` ("A", "B", …); None when speakers were off
    prosody: Prosody | None = None  # None when prosody was off or the word too short to measure
    emphasis: float = 0.0  # 0..1: how much the word stands out from its speaker's baseline
    emphasised: bool = False  # the words a viewer should see stressed (a minority)


@dataclass
class Line:
    """A caption line: words of one recogniser segment, all of one utterance."""

    start: float
    end: float
    words: list[AnalysedWord]
    utterance: int = 0  # index of the utterance (run of speech between pauses) it belongs to
    speaker: str | None = None  # the speaker of its words (lines never span a change of speaker)

    @property
    def text(self) -> str:
        """The line's words joined as spoken (Whisper's words carry their leading space)."""
        return "".join(w.text for w in self.words).strip()


@dataclass
class Speaker:
    """One voice of the recording: its id (what words and lines refer to), the name shown for it
    (``restyle --speaker-names A=Host`` changes it) and how long it talks, in seconds."""

    id: str
    name: str
    talk_time: float


@dataclass
class Cue:
    """One caption as a viewer reads it: shown from ``start`` to ``end`` (seconds), one or two
    text lines, each a half-open range ``[first, stop)`` of indices into ``Analysis.words``. Cues
    are verbatim: together they hold every word once, in order."""

    start: float
    end: float
    lines: list[list[int]]

    def word_indices(self) -> range:
        """The indices of the cue's words, in ``Analysis.words``."""
        return range(self.lines[0][0], self.lines[-1][1])


@dataclass
class Analysis:
    """What the models found in one recording: lines of words, each word with its emotion, VAD
    and fusion gates; the models that found it (``models``) and the settings (``settings``:
    window, hop). ``Analysis.load``/``save`` read and write it as JSON."""

    source: str  # the input's file name
    media_kind: str  # "video" or "audio"
    duration: float
    language: str
    labels: list[str]
    lines: list[Line]
    models: dict[str, str] = field(default_factory=dict)
    settings: dict[str, float | str] = field(default_factory=dict)
    language_probability: float = 1.0  # the detector's confidence in ``language`` (1.0 when it was given)
    notes: list[str] = field(default_factory=list)  # what the recogniser's guards did (failed decodes…)
    speakers: list[Speaker] = field(default_factory=list)  # empty when speakers were off
    cues: list[Cue] = field(default_factory=list)  # empty in upgraded documents: writers cut them
    caption_rules: dict[str, float] = field(default_factory=dict)  # the rules ``cues`` were cut by
    schema_version: int = SCHEMA_VERSION

    @property
    def words(self) -> list[AnalysedWord]:
        """Every word of every line, in order."""
        return [w for line in self.lines for w in line.words]

    def to_dict(self) -> dict:
        """The document as JSON-able dicts and lists."""
        return asdict(self)

    def to_json(self) -> str:
        """The document as JSON text (UTF-8, not ASCII-escaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> "Analysis":
        """The Analysis of a document's dicts, upgraded from an older schema version; ValueError,
        KeyError or TypeError when it is not one."""
        while data.get("schema_version") in _UPGRADES:
            data = _UPGRADES[data["schema_version"]](data)
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"analysis schema version {data.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        lines = [
            Line(
                start=line["start"],
                end=line["end"],
                words=[
                    AnalysedWord(**{**w, "emotion": WordEmotion(**w["emotion"]),
                                    "prosody": Prosody(**w["prosody"]) if w.get("prosody") else None})
                    for w in line["words"]
                ],
                utterance=line["utterance"],
                speaker=line.get("speaker"),
            )
            for line in data["lines"]
        ]
        speakers = [Speaker(**s) for s in data.get("speakers", [])]
        cues = [Cue(**c) for c in data.get("cues", [])]
        return cls(**{**data, "lines": lines, "speakers": speakers, "cues": cues})

    @classmethod
    def load(cls, path: str | Path) -> "Analysis":
        """The analysis document at ``path``; InputError when there is no such file,
        DocumentError when it is not an analysis document."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file" if not path.exists() else f"{path} is not a file")
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise DocumentError(f"{path} is not a sentimentogram analysis document "
                                f"(schema {SCHEMA_VERSION}): {type(exc).__name__}: {str(exc)[:120]}") from None

    def save(self, path: str | Path) -> Path:
        """Write the document to ``path`` as JSON, atomically; returns the path."""
        path = Path(path)
        atomic_write_text(path, self.to_json())
        return path
