"""A style file (TOML) read and checked: per culture and emotion overrides of any ``WordStyle``
field, and the ``[captions]`` rules per age group. Kept apart from ``typography`` (which maps an
emotion to a style) because it only checks what a user wrote, field by field, with one-line errors.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from .captions import CaptionRules
from .colour import is_hex, parse_hex, to_hex
from .constants import AGE_GROUPS, CULTURES, EMOTIONS
from .errors import UsageError
from .typography import (AGE_SCALES, ANIMATIONS, CAPTIONS_TABLE, TEXT_TRANSFORMS, StyleOverrides, WordStyle,
                         check_choices)

__all__ = ["StyleFileError", "validate_overrides", "load_style_file", "caption_rules"]

class StyleFileError(UsageError):
    """A style file that cannot be read or names an unknown section, field or value."""


# ---- overrides --------------------------------------------------------------------------------

def _check_field(where: str, name: str, value: Any) -> Any:
    """The validated value of one style field, or a StyleFileError naming it."""
    def bad(expected: str) -> StyleFileError:
        return StyleFileError(f"{where} {name} = {value!r}: expected {expected}")

    if name in ("color", "background"):
        if not is_hex(value):
            raise bad('a colour like "#ff3b3b"')
        return to_hex(parse_hex(value))
    if name == "font_family":
        # The name ends up in CSS: letters, digits, spaces and hyphens only, nothing to inject.
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 \-]{0,63}", value):
            raise bad("a font family name (letters, digits, spaces, hyphens)")
        return value
    if name == "weight":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
                or not 100 <= value <= 900:
            raise bad("a whole number from 100 to 900")
        return int(value)
    if name == "italic":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    ranges = {"size": (0.5, 3.0), "letter_spacing": (-0.2, 0.5), "animation_strength": (0.0, 1.0),
              "baseline_shift": (-0.5, 0.5)}
    if name in ranges:
        lo, hi = ranges[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise bad(f"a number from {lo} to {hi}")
        return float(value)
    if name == "text_transform" and value not in TEXT_TRANSFORMS:
        raise bad("one of " + ", ".join(TEXT_TRANSFORMS))
    if name == "animation" and value not in ANIMATIONS:
        raise bad("one of " + ", ".join(ANIMATIONS))
    if name not in ("text_transform", "animation"):
        raise StyleFileError(f"{where} has no field {name!r}: the fields are "
                             + ", ".join(f.name for f in fields(WordStyle)))
    return value


def _check_emotion_table(where: str, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise StyleFileError(f"{where} must be a table of style fields")
    return {name: _check_field(where, name, value) for name, value in table.items()}


def validate_overrides(data: dict[str, Any], source: str = "style overrides") -> StyleOverrides:
    """TOML-shaped data (``{"western": {"angry": {...}}, "angry": {...}}``) -> checked overrides."""
    overrides: StyleOverrides = {}
    for key, table in data.items():
        if key == CAPTIONS_TABLE:  # caption rules: read by caption_rules()
            continue
        if key in EMOTIONS:
            overrides.setdefault("*", {})[key] = _check_emotion_table(f"{source}: [{key}]", table)
        elif key in CULTURES or key == "*":
            if not isinstance(table, dict):
                raise StyleFileError(f"{source}: [{key}] must hold emotion tables like [{key}.angry]")
            for emotion, fields_ in table.items():
                if emotion not in EMOTIONS:
                    raise StyleFileError(f"{source}: [{key}.{emotion}] is not an emotion: expected "
                                         + ", ".join(EMOTIONS))
                overrides.setdefault(key, {})[emotion] = _check_emotion_table(
                    f"{source}: [{key}.{emotion}]", fields_)
        else:
            raise StyleFileError(f"{source}: [{key}] is neither a culture ({', '.join(CULTURES)}) "
                                 f"nor an emotion ({', '.join(EMOTIONS)})")
    return overrides


def load_style_file(path: Path | str) -> StyleOverrides:
    """Read a TOML style file: ``[western.angry]`` for one culture, ``[angry]`` for all of them."""
    return validate_overrides(_read_toml(path), Path(path).name)


def caption_rules(age: str = "adult", style_file: Path | str | None = None,
                  reading_speed: float | None = None) -> CaptionRules:
    """The caption rules for ``age``: its reading speed, then the style file's ``[captions]``
    table (any ``CaptionRules`` field, e.g. ``max_cps = 18``) and its ``[captions.<age>]`` table,
    then ``reading_speed`` (a command-line choice) over all of them. StyleFileError when the
    table names an unknown rule or a bad value."""
    check_choices("western", age)
    values: dict[str, Any] = {"max_cps": AGE_SCALES[age].reading_speed}
    if style_file is not None:
        table = _read_toml(style_file).get(CAPTIONS_TABLE, {})
        if not isinstance(table, dict):
            raise StyleFileError(f"{Path(style_file).name}: [{CAPTIONS_TABLE}] must be a table of caption rules")
        per_age = {k: table.pop(k) for k in list(table) if k in AGE_GROUPS}
        for key in per_age:
            if not isinstance(per_age[key], dict):
                raise StyleFileError(f"{Path(style_file).name}: [{CAPTIONS_TABLE}.{key}] must be a table")
        values.update(table)
        values.update(per_age.get(age, {}))
    if reading_speed is not None:
        values["max_cps"] = reading_speed
    try:
        return CaptionRules.from_dict(values)
    except (UsageError, TypeError) as exc:
        where = f"{Path(style_file).name}: [{CAPTIONS_TABLE}]" if style_file is not None else "caption rules"
        raise StyleFileError(f"{where}: {exc}") from None


def _read_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StyleFileError(f"style file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StyleFileError(f"cannot read style file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StyleFileError(f"{path.name}: not valid TOML: {exc}") from None
    return data


# ---- mapping ----------------------------------------------------------------------------------
