"""The analysis document: what the models found, as plain dataclasses and JSON.

Styling and rendering read only this document, so restyling never re-runs a model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["SCHEMA_VERSION", "Word", "Segment", "WordEmotion", "AnalysedWord", "Line", "Analysis"]

SCHEMA_VERSION = 1


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
class AnalysedWord:
    text: str
    start: float
    end: float
    probability: float
    emotion: WordEmotion


@dataclass
class Line:
    start: float
    end: float
    words: list[AnalysedWord]

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()


@dataclass
class Analysis:
    source: str  # the input's file name
    media_kind: str  # "video" or "audio"
    duration: float
    language: str
    labels: list[str]
    lines: list[Line]
    models: dict[str, str] = field(default_factory=dict)
    settings: dict[str, float | str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def words(self) -> list[AnalysedWord]:
        return [w for line in self.lines for w in line.words]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> "Analysis":
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"analysis schema version {data.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        lines = [
            Line(
                start=line["start"],
                end=line["end"],
                words=[
                    AnalysedWord(**{**w, "emotion": WordEmotion(**w["emotion"])})
                    for w in line["words"]
                ],
            )
            for line in data["lines"]
        ]
        return cls(**{**data, "lines": lines})

    @classmethod
    def load(cls, path: Path) -> "Analysis":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
