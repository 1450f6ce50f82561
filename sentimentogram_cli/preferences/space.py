"""The space the ranker works in: a style as a small feature vector, a context as another.

A style's features are read off the ``WordStyle`` itself (never off a name), so the paper's six named
study styles, the survey's variants and the typography mapper's candidates all live in one space.
The context is what the preference may depend on: the emotion (one-hot, and its valence and
arousal, so an emotion with few answers borrows from emotions that feel alike) and the person.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..constants import CATEGORY_VAD, EMOTIONS
from ..colour import contrast_ratio, parse_hex
from ..typography import WordStyle, css_font_stack

__all__ = [
    "FEATURES",
    "FEATURE_LABELS",
    "CONTEXT",
    "AGE_GROUPS",
    "CULTURES",
    "SEED_STYLES",
    "SEED_STYLE_NAMES",
    "UserAttributes",
    "style_features",
    "context_vector",
    "normalise_emotion",
]

# One number per style feature; the scale of each is chosen so that a typical change is about 1.
FEATURES = ("size", "colour", "emphasis", "motion", "contrast", "serif", "italic", "spacing")
FEATURE_LABELS = {
    "size": "larger text",
    "colour": "more vivid colour",
    "emphasis": "heavier weight",
    "motion": "more motion",
    "contrast": "higher contrast",
    "serif": "a serif family",
    "italic": "italics",
    "spacing": "wider letter spacing",
}
CONTEXT = ("bias", "valence", "arousal", *(f"emotion:{e}" for e in EMOTIONS),
           "age", "eastern", "low_vision", "color_blind", "dyslexia")

# The seed study's vocabulary for people (not the typography presets' cultures and ages).
AGE_GROUPS = ("young", "middle", "senior")
CULTURES = ("western", "eastern", "other")

_EMOTION_ALIASES = {"happiness": "happy", "joy": "happy", "sadness": "sad", "anger": "angry",
                    "fearful": "fear", "surprised": "surprise", "disgusted": "disgust", "calm": "neutral"}
_SERIF = {"Georgia", "Times New Roman", "serif"}  # besides the bundled serif families

# The study's six styles, as its survey page drew them: an 18 px line on a white card, black text
# unless the style says otherwise (experiments/user_study/preference_survey.py in the paper's repo).
_WHITE, _INK = "#ffffff", "#000000"
SEED_STYLES: tuple[WordStyle, ...] = (
    WordStyle("#666666", _WHITE, "Roboto"),  # 0 Subtle: grey, no emphasis
    WordStyle(_INK, _WHITE, "Roboto", size=22 / 18, weight=700),  # 1 Bold: 22 px bold
    WordStyle("#e91e63", "#fce4ec", "Roboto"),  # 2 Colorful: vivid pink on a pink chip
    WordStyle(_INK, _WHITE, "Roboto", animation="pulse", animation_strength=1.0),  # 3 Animated: pulsing, nonstop
    WordStyle(_INK, _WHITE, "Georgia", italic=True),  # 4 Classic: serif italic
    WordStyle(_INK, _WHITE, "Helvetica", letter_spacing=1 / 18),  # 5 Modern: sans, 1 px spacing
)
SEED_STYLE_NAMES = ("Subtle", "Bold", "Colorful", "Animated", "Classic", "Modern")


@dataclass(frozen=True)
class UserAttributes:
    """What a person told the survey about themselves; every field is optional (None: not said)."""

    age_group: str | None = None
    culture: str | None = None
    low_vision: bool | None = None
    color_blind: bool | None = None
    dyslexia: bool | None = None

    def __post_init__(self) -> None:
        if self.age_group not in (None, *AGE_GROUPS):
            raise ValueError(f"age group {self.age_group!r}: expected one of {', '.join(AGE_GROUPS)}")
        if self.culture not in (None, *CULTURES):
            raise ValueError(f"culture {self.culture!r}: expected one of {', '.join(CULTURES)}")
        for name in ("low_vision", "color_blind", "dyslexia"):
            if getattr(self, name) not in (None, True, False):
                raise ValueError(f"{name} {getattr(self, name)!r}: expected true, false or null")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "UserAttributes":
        if not isinstance(data, dict):
            raise ValueError("attributes must be an object")
        unknown = set(data) - {"age_group", "culture", "low_vision", "color_blind", "dyslexia"}
        known = {k: (v if v != "" else None) for k, v in data.items() if k not in unknown}
        return cls(**known)

    def describe(self) -> str:
        parts = [x for x in (self.age_group, self.culture) if x]
        parts += [name.replace("_", " ") for name in ("low_vision", "color_blind", "dyslexia")
                  if getattr(self, name)]
        return ", ".join(parts) or "no attributes given"


def normalise_emotion(name: str) -> str:
    """The package's emotion name for the study's ("happiness" -> "happy"); ValueError if unknown."""
    emotion = _EMOTION_ALIASES.get(str(name).lower(), str(name).lower())
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown emotion {name!r}: expected one of {', '.join(EMOTIONS)}")
    return emotion


def _chroma(color: str) -> float:
    rgb = parse_hex(color)
    return max(rgb) - min(rgb)


def _is_serif(family: str) -> bool:
    return family in _SERIF or css_font_stack(family).endswith(", serif")


def style_features(style: WordStyle) -> np.ndarray:
    """The style as ``FEATURES``: 0 is a plain 1 em, weight-400, grey, still, sans, upright line."""
    ratio = contrast_ratio(style.color, style.background)
    return np.array([
        style.size - 1.0,
        _chroma(style.color),  # how far from grey: 0 grey, 1 a pure hue
        (style.weight - 400) / 300,  # 700 bold = 1
        style.animation_strength if style.animation != "none" else 0.0,
        math.log(ratio / 4.5) / math.log(21 / 4.5),  # WCAG AA minimum = 0, black on white = 1
        1.0 if _is_serif(style.font_family) else 0.0,
        1.0 if style.italic else 0.0,
        style.letter_spacing / 0.05,  # 0.05 em (about 1 px at 18 px) = 1
    ])


def context_vector(emotion: str, attributes: UserAttributes) -> np.ndarray:
    """``CONTEXT`` for one comparison. Unsaid attributes are 0, the middle of their scale."""
    valence, arousal, _ = CATEGORY_VAD[emotion]
    age = {"young": -1.0, "middle": 0.0, "senior": 1.0}.get(attributes.age_group or "", 0.0)
    east = {"eastern": 1.0, "western": -1.0}.get(attributes.culture or "", 0.0)  # other: between
    return np.array([
        1.0, valence - 0.5, arousal - 0.5,
        *(1.0 if emotion == e else 0.0 for e in EMOTIONS),
        age, east,
        *(1.0 if getattr(attributes, name) else 0.0 for name in ("low_vision", "color_blind", "dyslexia")),
    ])
