"""Colours as the package writes them ("#rrggbb"): parsing, mixing and WCAG contrast, in one place
for the typography mapper, the subtitle exports and the preference model.
"""

from __future__ import annotations

import re

__all__ = ["is_hex", "parse_hex", "to_hex", "mix", "luminance", "contrast_ratio", "ensure_contrast"]

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

RGB = tuple[float, float, float]


def is_hex(value: object) -> bool:
    """Whether ``value`` is a "#rgb" or "#rrggbb" string."""
    return isinstance(value, str) and bool(_HEX.match(value))


def parse_hex(color: str) -> RGB:
    """"#rrggbb" (or "#rgb") -> (r, g, b), each 0..1."""
    h = color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def to_hex(rgb: RGB) -> str:
    """(r, g, b), each 0..1 (clamped), -> "#rrggbb"."""
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in rgb)


def mix(a: str, b: str, amount: float) -> str:
    """The colour ``amount`` (0..1) of the way from ``a`` to ``b``, as "#rrggbb"."""
    ra, rb = parse_hex(a), parse_hex(b)
    return to_hex(tuple(x + (y - x) * amount for x, y in zip(ra, rb)))  # type: ignore[arg-type]


def luminance(color: str) -> float:
    """WCAG relative luminance of ``color``, 0 (black) .. 1 (white)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in parse_hex(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.x contrast ratio of two colours, 1..21."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def ensure_contrast(fg: str, bg: str, minimum: float = 4.5) -> str:
    """``fg``, lightened (dark ``bg``) or darkened (light ``bg``) just enough to reach ``minimum``."""
    if contrast_ratio(fg, bg) >= minimum:
        return to_hex(parse_hex(fg))
    toward = "#ffffff" if contrast_ratio("#ffffff", bg) >= contrast_ratio("#000000", bg) else "#000000"
    color = fg
    for step in range(1, 51):  # mixing keeps the hue while it can; the last step is the extreme
        color = mix(fg, toward, step / 50)
        if contrast_ratio(color, bg) >= minimum:
            break
    return color
