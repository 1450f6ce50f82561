"""The typography of emphasis: how a word said louder, higher or longer than its speaker's
baseline looks, drawn on the style its emotion gave it (``typography.style_word``).

The mapping is the one deaf and hard-of-hearing viewers matched to the audio in de Lacerda
Pataca et al. (IEEE TAC 2023; CHI 2023): loudness -> font weight, pitch -> baseline shift,
duration -> letter spacing. Only the emphasised words (a minority: Kafle et al., ASSETS 2019)
change, each by its own prosody, scaled by the culture's preset and the age; the accessible
preset lets weight alone carry it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .document import AnalysedWord
from .typography import AGE_SCALES, WordStyle, check_choices

__all__ = ["EMPHASIS_MODES", "EmphasisScale", "EMPHASIS_SCALES", "emphasise", "check_emphasis"]

EMPHASIS_MODES = ("prosody", "off")  # --emphasis: drawn from the words' prosody, or not at all


def check_emphasis(mode: str) -> None:
    """Raise a UsageError unless ``mode`` is one of EMPHASIS_MODES."""
    from .errors import UsageError

    if mode not in EMPHASIS_MODES:
        raise UsageError(f"unknown emphasis {mode!r}: use one of {', '.join(EMPHASIS_MODES)}")


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(hi, max(lo, float(x)))


@dataclass(frozen=True)
class EmphasisScale:
    """How far emphasis moves an emphasised word (de Lacerda Pataca et al., IEEE TAC 2023:
    loudness -> weight, pitch -> baseline shift, duration -> letter spacing)."""

    weight: int  # added at full loudness (at least 60% of it for any emphasised word)
    shift: float  # em of baseline shift at +6 semitones (down as far at -6)
    spacing: float  # em of letter spacing added at twice the expected duration
    whisper_weight: int  # taken from a word said far below the baseline (10 dB or more)


EMPHASIS_SCALES: dict[str, EmphasisScale] = {
    "western": EmphasisScale(weight=300, shift=0.12, spacing=0.06, whisper_weight=100),
    "eastern": EmphasisScale(weight=300, shift=0.12, spacing=0.06, whisper_weight=100),
    # Weight alone carries the emphasis: bold, and nothing that moves or spreads the letters.
    "accessible": EmphasisScale(weight=300, shift=0.0, spacing=0.0, whisper_weight=0),
}
# Age scales the shift and the spacing (young and old readers lose the line when letters jump).
_EMPHASIS_AGE = {"child": 0.7, "teen": 1.0, "adult": 1.0, "senior": 0.6}
_FULL_LOUDNESS_DB, _FULL_SEMITONES, _WHISPER_DB = 8.0, 6.0, -10.0


def emphasise(style: WordStyle, word: AnalysedWord, culture: str = "western",
              age: str = "adult") -> WordStyle:
    """``style`` with ``word``'s emphasis drawn on it: an emphasised word gets weight from its
    loudness, a baseline shift from its pitch and letter spacing from its duration, each scaled by
    the culture's EmphasisScale and the age; a word said far below its speaker's baseline gets
    lighter (expressive cultures). Every other word keeps its style."""
    check_choices(culture, age)
    p, scale, by_age = word.prosody, EMPHASIS_SCALES[culture], _EMPHASIS_AGE[age]
    if p is None:
        return style
    if not word.emphasised:
        if p.loudness_db <= _WHISPER_DB and scale.whisper_weight:
            weight = max(AGE_SCALES[age].min_weight, style.weight - scale.whisper_weight)
            return replace(style, weight=int(round(weight / 10) * 10))
        return style
    loud = max(0.6, _clamp(p.loudness_db / _FULL_LOUDNESS_DB))
    weight = _clamp(style.weight + scale.weight * loud, 100, 900)
    pitch = _clamp((p.pitch_semitones or 0.0) / _FULL_SEMITONES, -1.0, 1.0)
    longer = _clamp(math.log2(max(p.duration_ratio, 1e-6)))
    return replace(style, weight=int(round(weight / 10) * 10),
                   baseline_shift=round(scale.shift * pitch * by_age, 2),
                   letter_spacing=round(style.letter_spacing + scale.spacing * longer * by_age, 3))
