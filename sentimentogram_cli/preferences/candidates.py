"""What the typography mapper allows for one culture and emotion: variations of its preset.

Each axis varies one group of style fields and leaves the rest as the preset has them. A style's
utility is linear in its features and each feature depends on one axis only (colour intensity and
contrast both on the colour, so colour is one axis), so the best candidate of the whole grid is
the best option on each axis: no enumeration of the product is needed. Colours that fall below the
culture's WCAG minimum on their caption background are not candidates at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..colour import contrast_ratio, parse_hex
from ..typography import MIN_CONTRAST, PRESETS, WordStyle

__all__ = ["AXES", "Option", "candidate_options", "apply_options"]

AXES = ("size", "colour", "emphasis", "motion", "font", "italic", "spacing")
_SIZE_STEPS = (0.87, 1.0, 1.15, 1.3)
_WEIGHT_STEPS = (-200, 0, 200)
_SPACING_STEP = 0.05  # em
_ALTERNATE_FAMILIES = ("Merriweather", "Poppins")  # a bundled serif and a bundled sans


@dataclass(frozen=True)
class Option:
    """One value of one axis: the style fields it sets, and a short description for people."""

    axis: str
    label: str
    changes: dict[str, Any] = field(default_factory=dict, hash=False)


def _rgb(color: str) -> list[float]:
    return list(parse_hex(color))


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in rgb)


def _toward(color: str, target: str, amount: float) -> str:
    return _hex([a + (b - a) * amount for a, b in zip(_rgb(color), _rgb(target))])


def _saturate(color: str, factor: float) -> str:
    rgb = _rgb(color)
    grey = sum(rgb) / 3
    return _hex([grey + (c - grey) * factor for c in rgb])


def _colour_options(preset: WordStyle, culture: str) -> list[Option]:
    # Lifting toward white on a dark chip (black on a light one) raises contrast, keeps the hue.
    lift = "#ffffff" if contrast_ratio("#ffffff", preset.background) >= contrast_ratio("#000000", preset.background) \
        else "#000000"
    tones = {"preset": preset.color, "muted": _saturate(preset.color, 0.4), "vivid": _saturate(preset.color, 1.5)}
    options, seen = [], set()
    for tone, color in tones.items():
        for lifted in (False, True):
            value = _toward(color, lift, 0.35) if lifted else _hex(_rgb(color))
            if value in seen or contrast_ratio(value, preset.background) < MIN_CONTRAST[culture]:
                continue
            seen.add(value)
            label = tone if not lifted else f"{tone}, higher contrast"
            options.append(Option("colour", f"{label} {value}", {"color": value}))
    return options


def candidate_options(culture: str, emotion: str) -> dict[str, list[Option]]:
    """For each axis its options; the first one is always the preset's own value."""
    preset = PRESETS[culture][emotion]
    accessible = culture == "accessible"  # one hyperlegible family, weight >= 400, no motion
    sizes = dict.fromkeys(round(min(1.7, max(0.7, preset.size * k)), 2) for k in (1.0, *_SIZE_STEPS))
    weights = dict.fromkeys(min(900, max(400 if accessible else 100, preset.weight + d)) for d in (0, *_WEIGHT_STEPS))
    motions = [("none", 0.0)]
    if preset.animation != "none":
        s = preset.animation_strength
        motions = [(preset.animation, s), (preset.animation, round(s / 2, 2)), ("none", 0.0)]
    families = dict.fromkeys((preset.font_family,) if accessible else (preset.font_family, *_ALTERNATE_FAMILIES))
    spacings = dict.fromkeys((preset.letter_spacing, round(preset.letter_spacing + _SPACING_STEP, 3)))
    colours = _colour_options(preset, culture)
    if not colours or colours[0].changes["color"] != _hex(_rgb(preset.color)):  # never fewer than one
        colours.insert(0, Option("colour", f"preset {preset.color}", {"color": preset.color}))
    return {
        "size": [Option("size", f"{s:.2f} em", {"size": s}) for s in sizes],
        "colour": colours,
        "emphasis": [Option("emphasis", f"weight {w}", {"weight": w}) for w in weights],
        "motion": [Option("motion", f"{a} {s:.2f}" if a != "none" else "no motion",
                          {"animation": a, "animation_strength": s}) for a, s in motions],
        "font": [Option("font", f, {"font_family": f}) for f in families],
        "italic": [Option("italic", "italic" if i else "upright", {"italic": i})
                   for i in (preset.italic, not preset.italic)],
        "spacing": [Option("spacing", f"spacing {x:+.2f} em", {"letter_spacing": x}) for x in spacings],
    }


def apply_options(preset: WordStyle, options) -> WordStyle:
    """The preset with the given options' fields set."""
    changes: dict[str, Any] = {}
    for option in options:
        changes.update(option.changes)
    return replace(preset, **changes)
