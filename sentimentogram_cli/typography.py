"""Emotion + valence/arousal/dominance + culture + age -> the style of one word (a style file's
overrides are read and checked by ``style_file``).

The presets give the *typical* word of each emotion (the paper's table, with fear, disgust and
surprise added and its failing colours fixed). A word is then placed between the neutral style and
its emotion's preset by the classifier's confidence, and moved further by how its own VAD differs
from the emotion's typical VAD: valence tints it warm or cool, arousal makes it larger and heavier,
dominance makes it heavier and upright (low: thin and italic). Colours are finally pushed lighter
or darker until they keep WCAG contrast on their caption background, whatever the input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from .document import WordEmotion
from .colour import ensure_contrast, mix
from .constants import AGE_GROUPS, CATEGORY_VAD, CULTURES, EMOTIONS
from .errors import UsageError

__all__ = [
    "ANIMATIONS",
    "TEXT_TRANSFORMS",
    "WordStyle",
    "AgeScale",
    "FontFace",
    "FONT_FACES",
    "PRESETS",
    "AGE_SCALES",
    "MIN_CONTRAST",
    "override_notes",
    "StyleOverrides",
    "style_word",
    "style_table",
    "CAPTIONS_TABLE",
    "check_choices",
    "css_font_stack",
]

ANIMATIONS = ("none", "bounce", "fade", "shake", "pulse", "tremble", "pop")
TEXT_TRANSFORMS = ("none", "uppercase", "lowercase", "capitalize")

CAPTIONS_TABLE = "captions"  # the style file's table of caption rules ([captions], [captions.child])

# {culture or "*": {emotion: {field: value}}}; "*" applies to every culture, a culture wins over it.
StyleOverrides = dict[str, dict[str, dict[str, Any]]]


@dataclass
class WordStyle:
    """How one word looks: what the page, the subtitle exports and the preference model draw."""

    color: str  # "#rrggbb"
    background: str  # the caption box behind the word; contrast is measured against it
    font_family: str  # one family name; css_font_stack() adds the fallbacks
    size: float = 1.0  # em, relative to the caption text size
    weight: int = 400  # 100..900
    italic: bool = False
    letter_spacing: float = 0.0  # em
    text_transform: str = "none"
    animation: str = "none"
    animation_strength: float = 0.0  # 0..1
    baseline_shift: float = 0.0  # em, up: an emphasised word said higher sits higher

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgeScale:
    size: float  # multiplies the size
    motion: float  # multiplies the animation strength
    min_weight: int  # thin strokes are hard to read for young and old readers
    letter_spacing: float  # em added
    # Characters a second a caption may ask of its reader (spaces and punctuation count): the
    # Netflix Timed Text Style Guide's 20 for adults and 17 for children's programmes. A style
    # file's [captions] table changes it (``max_cps``), as every other caption rule.
    reading_speed: float = 20.0


@dataclass(frozen=True)
class FontFace:
    family: str
    file: str  # in the fonts/ folder
    weight: str  # CSS font-weight descriptor: "400", or a range "300 700" for variable fonts
    style: str = "normal"


# Latin subsets of OFL fonts from npm @fontsource packages (see fonts/README.md).
FONT_FACES: tuple[FontFace, ...] = (
    *(FontFace("Poppins", f"poppins-latin-{w}-normal.woff2", str(w)) for w in (300, 400, 500, 700, 800)),
    *(FontFace("Poppins", f"poppins-latin-{w}-italic.woff2", str(w), "italic") for w in (300, 400)),
    FontFace("Fredoka", "fredoka-latin-wght-normal.woff2", "300 700"),
    FontFace("Merriweather", "merriweather-latin-400-normal.woff2", "400"),
    FontFace("Merriweather", "merriweather-latin-700-normal.woff2", "700"),
    FontFace("Merriweather", "merriweather-latin-300-italic.woff2", "300", "italic"),
    FontFace("Bebas Neue", "bebas-neue-latin-400-normal.woff2", "400"),
    FontFace("Oswald", "oswald-latin-wght-normal.woff2", "200 700"),
    FontFace("Atkinson Hyperlegible", "atkinson-hyperlegible-latin-400-normal.woff2", "400"),
    FontFace("Atkinson Hyperlegible", "atkinson-hyperlegible-latin-700-normal.woff2", "700"),
    FontFace("Atkinson Hyperlegible", "atkinson-hyperlegible-latin-400-italic.woff2", "400", "italic"),
)
_SERIF_FAMILIES = {"Merriweather"}

_DARK = "#121317"  # caption box: opaque, so contrast is measured against a known colour
_BLACK = "#000000"


def _preset(color, font, size=1.0, weight=400, italic=False, spacing=0.0, transform="none",
            animation="none", strength=0.0, background=_DARK) -> WordStyle:
    return WordStyle(color, background, font, size, weight, italic, spacing, transform, animation, strength)


PRESETS: dict[str, dict[str, WordStyle]] = {
    "western": {
        "neutral": _preset("#c0c0c0", "Poppins"),
        "happy": _preset("#ffd700", "Fredoka", 1.15, 600, animation="bounce", strength=0.6),
        "sad": _preset("#6b9bd2", "Merriweather", 0.92, 300, italic=True, animation="fade", strength=0.5),
        "angry": _preset("#ff3b3b", "Bebas Neue", 1.30, 400, spacing=0.08, transform="uppercase",
                         animation="shake", strength=0.8),
        "fear": _preset("#b49cff", "Oswald", 0.95, 300, spacing=0.04, animation="tremble", strength=0.6),
        "disgust": _preset("#9ccc3c", "Merriweather", 1.05, 700, spacing=-0.01, animation="pulse",
                           strength=0.5),
        "surprise": _preset("#ff6ec7", "Poppins", 1.20, 800, spacing=0.02, animation="pop", strength=0.8),
    },
    # The paper's East-Asian reading: red is luck, white is mourning, anger is near-black. Near-black
    # text cannot be read on a dark box, so anger keeps its black on a light terracotta chip.
    "eastern": {
        "neutral": _preset("#a8a8a8", "Poppins"),
        "happy": _preset("#ff3030", "Fredoka", 1.15, 600, animation="bounce", strength=0.5),
        "sad": _preset("#e8e8e8", "Merriweather", 0.92, 300, italic=True, animation="fade", strength=0.4),
        "angry": _preset("#1a1a1a", "Bebas Neue", 1.30, 400, spacing=0.08, transform="uppercase",
                         animation="shake", strength=0.6, background="#e09a7a"),
        "fear": _preset("#8fa8e0", "Oswald", 0.95, 300, spacing=0.04, animation="tremble", strength=0.5),
        "disgust": _preset("#5fbf6a", "Merriweather", 1.05, 700, spacing=-0.01, animation="pulse",
                           strength=0.4),
        "surprise": _preset("#ffd23f", "Poppins", 1.20, 800, spacing=0.02, animation="pop", strength=0.6),
    },
    # Plain and high contrast (AAA, 7:1 on black), following the studies with deaf and
    # hard-of-hearing viewers: colour carries the emotion (valence coding is what they read and
    # prefer: Caption Royale, CHI 2024), weight carries only the emphasis, and there is no italic,
    # no all-caps (they distract: Kafle et al., ASSETS 2019) and no motion. One hyperlegible family.
    "accessible": {
        "neutral": _preset("#ffffff", "Atkinson Hyperlegible", background=_BLACK),
        "happy": _preset("#ffe066", "Atkinson Hyperlegible", background=_BLACK),
        "sad": _preset("#a8d0ff", "Atkinson Hyperlegible", background=_BLACK),
        "angry": _preset("#ff9e94", "Atkinson Hyperlegible", background=_BLACK),
        "fear": _preset("#dcc4ff", "Atkinson Hyperlegible", background=_BLACK),
        "disgust": _preset("#c4ec8c", "Atkinson Hyperlegible", background=_BLACK),
        "surprise": _preset("#ffb8e8", "Atkinson Hyperlegible", background=_BLACK),
    },
}

AGE_SCALES: dict[str, AgeScale] = {
    # Reading speed: 15 for children (below Netflix's 17 for children's programmes: young
    # readers), 18 for teens, 20 for adults, 17 for seniors (slower reading with age, and the
    # larger text of this preset).
    "child": AgeScale(size=1.30, motion=0.5, min_weight=400, letter_spacing=0.01, reading_speed=15.0),
    "teen": AgeScale(size=1.10, motion=1.0, min_weight=300, letter_spacing=0.0, reading_speed=18.0),
    "adult": AgeScale(size=1.00, motion=1.0, min_weight=100, letter_spacing=0.0, reading_speed=20.0),
    "senior": AgeScale(size=1.25, motion=0.3, min_weight=400, letter_spacing=0.02, reading_speed=17.0),
}

MIN_CONTRAST: dict[str, float] = {"western": 4.5, "eastern": 4.5, "accessible": 7.0}
# Cultures whose words differ by colour alone: the VAD mapping moves no size, weight or slant.
_COLOUR_ONLY = ("accessible",)

# How far the continuous mapping moves a word (tuned by eye on the screenshots).
_CHANCE = 1.0 / len(EMOTIONS)  # a confidence at chance level says nothing: the word stays neutral
_FONT_FROM = 0.4  # departure at which the emotion's family and motion take over (confidence ~0.49)
_SHOUT_FROM = 0.6  # ... its case and caption chip (confidence ~0.66): a 40% "angry" is no shout
_SIZE_PER_AROUSAL = 0.30
_WEIGHT_PER_AROUSAL = 200.0
_WEIGHT_PER_DOMINANCE = 200.0
_SLANT_PER_DOMINANCE = 2.0
_TINT_PER_VALENCE = 0.6
_WARM, _COOL = "#ffb347", "#6fa8ff"
_SIZE_RANGE = (0.70, 1.70)



def check_choices(culture: str, age: str) -> None:
    """Raise a UsageError unless ``culture`` is one of CULTURES and ``age`` one of AGE_GROUPS."""
    for value, choices, what in ((culture, CULTURES, "culture"), (age, AGE_GROUPS, "age group")):
        if value not in choices:
            raise UsageError(f"unknown {what} {value!r}: use one of {', '.join(choices)}")


def _culture_presets(culture: str, overrides: StyleOverrides | None) -> dict[str, WordStyle]:
    table = {}
    for emotion, style in PRESETS[culture].items():
        for key in ("*", culture):
            changes = (overrides or {}).get(key, {}).get(emotion)
            if changes:
                style = replace(style, **changes)
        table[emotion] = style
    return table


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(hi, max(lo, float(x)))


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def style_word(emotion: WordEmotion, culture: str = "western", age: str = "adult",
               overrides: StyleOverrides | None = None) -> WordStyle:
    """The style of one word: its emotion's preset, scaled by confidence and moved by its VAD."""
    check_choices(culture, age)
    presets = _culture_presets(culture, overrides)
    neutral = presets["neutral"]
    # Labels outside the preset table (another checkpoint's label set) still get the VAD mapping.
    target = presets.get(emotion.emotion, neutral)
    t = _clamp((emotion.confidence - _CHANCE) / (1.0 - _CHANCE))
    typical = CATEGORY_VAD.get(emotion.emotion, CATEGORY_VAD["neutral"])
    anchor = [_lerp(n, c, t) for n, c in zip(CATEGORY_VAD["neutral"], typical)]
    dv, da, dd = (_clamp(x) - a for x, a in zip((emotion.valence, emotion.arousal, emotion.dominance), anchor))

    family_from = target if t >= _FONT_FROM else neutral
    shout_from = target if t >= _SHOUT_FROM else neutral

    if culture in _COLOUR_ONLY:  # weight is kept for the emphasis, slant and case are never used
        da = dd = 0.0
        family_from = shout_from = replace(family_from, italic=False, text_transform="none")
    color = mix(neutral.color, target.color, t)
    color = mix(color, _WARM if dv > 0 else _COOL, min(1.0, abs(dv)) * _TINT_PER_VALENCE)
    size = _clamp(_lerp(neutral.size, target.size, t) * (1 + _SIZE_PER_AROUSAL * da), *_SIZE_RANGE)
    weight = _lerp(neutral.weight, target.weight, t) + _WEIGHT_PER_AROUSAL * da + _WEIGHT_PER_DOMINANCE * dd
    slant = (1.0 if family_from.italic else 0.0) - _SLANT_PER_DOMINANCE * dd
    strength = family_from.animation_strength * (t if family_from is target else 1.0) * (1 + 0.5 * da)

    scale = AGE_SCALES[age]
    strength = _clamp(strength * scale.motion)
    animation = family_from.animation if strength >= 0.05 else "none"
    background = shout_from.background
    return WordStyle(
        color=ensure_contrast(color, background, MIN_CONTRAST[culture]),
        background=background,
        font_family=family_from.font_family,
        size=round(size * scale.size, 2),
        weight=int(round(max(scale.min_weight, _clamp(weight, 100, 900)) / 10) * 10),
        italic=slant > 0.5,
        letter_spacing=round(_lerp(neutral.letter_spacing, target.letter_spacing, t) + scale.letter_spacing, 3),
        text_transform=shout_from.text_transform,
        animation=animation,
        animation_strength=round(strength, 2) if animation != "none" else 0.0,
    )


def style_table(culture: str = "western", age: str = "adult",
                overrides: StyleOverrides | None = None) -> dict[str, WordStyle]:
    """The style of a fully confident, typical word of each emotion (what the legend shows)."""
    table = {}
    for emotion in EMOTIONS:
        v, a, d = CATEGORY_VAD[emotion]
        typical = WordEmotion(emotion=emotion, confidence=1.0, probabilities={emotion: 1.0},
                              valence=v, arousal=a, dominance=d, audio_gate=0.5, text_gate=0.5)
        table[emotion] = style_word(typical, culture, age, overrides)
    return table


def override_notes(overrides: StyleOverrides | None) -> list[str]:
    """One line naming each colour or size of ``overrides`` that the mapper changes to meet its
    limits (text contrast, the size range), as a typical confident word shows it; [] when none."""
    changed: dict[str, str] = {}
    tables: dict[str, dict[str, WordStyle]] = {}
    for key, table in (overrides or {}).items():
        for emotion, wanted in table.items():
            for culture in (CULTURES if key == "*" else (key,)):
                got = tables.setdefault(culture, style_table(culture, "adult", overrides)).get(emotion)
                where = f"[{emotion}]" if key == "*" else f"[{key}.{emotion}]"
                if got is None:
                    continue
                if "color" in wanted and got.color != wanted["color"] and f"{where} color" not in changed:
                    changed[f"{where} color"] = (f"{where} color {wanted['color']} shows as {got.color} "
                                                 f"({MIN_CONTRAST[culture]:g}:1 contrast on {got.background})")
                if "size" in wanted and abs(got.size - wanted["size"]) > 0.005 and f"{where} size" not in changed:
                    lo, hi = _SIZE_RANGE
                    changed[f"{where} size"] = f"{where} size {wanted['size']:g} shows as {got.size:.2f} ({lo:.2f} to {hi:.2f})"
    return ["style adjusted to stay readable: " + "; ".join(changed.values())] if changed else []


def css_font_stack(family: str) -> str:
    """A CSS font-family value: the family, then a generic fallback of the same kind."""
    generic = "serif" if family in _SERIF_FAMILIES else "sans-serif"
    return f'"{family}", {generic}'

