"""Answers: the survey's JSON downloads and the seed study's folder, read into one shape.

Seed study folder: ``<user>_profile.json`` (attributes) and ``<user>_comparisons.jsonl`` (one
comparison a line, styles by id 0..5). Survey download: one JSON object, format
``sentimentogram-survey-answers``, whose comparisons carry the two styles themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExitStatus, InputError, SentimentogramError
from ..style_file import StyleFileError, validate_overrides
from ..typography import WordStyle
from .space import SEED_STYLE_NAMES, SEED_STYLES, UserAttributes, normalise_emotion

__all__ = ["ANSWERS_FORMAT", "ANSWERS_VERSION", "AnswersError", "Comparison", "AnswerSet", "load_answers"]

ANSWERS_FORMAT = "sentimentogram-survey-answers"
ANSWERS_VERSION = 1


class AnswersError(SentimentogramError):
    """An answers file that cannot be read or does not hold comparisons."""

    exit_status = ExitStatus.USAGE


@dataclass
class Comparison:
    """One choice between two renderings of the same line for one emotion."""

    emotion: str
    style_a: WordStyle
    style_b: WordStyle
    a_wins: bool
    key_a: str  # names the style for the win-rate baseline: a seed style's name, else its fields
    key_b: str
    response_time_ms: int | None = None


@dataclass
class AnswerSet:
    """One person's answers."""

    user: str
    attributes: UserAttributes
    comparisons: list[Comparison] = field(default_factory=list)
    source: str = ""


def _key(style: WordStyle) -> str:
    return json.dumps(style.to_dict(), sort_keys=True)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"answers file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnswersError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise AnswersError(f"{path.name}: not valid JSON: {exc}") from None


def _attributes(data, where: str) -> UserAttributes:
    try:
        return UserAttributes.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise AnswersError(f"{where}: {exc}") from None


def _style(data, where: str) -> WordStyle:
    if not isinstance(data, dict):
        raise AnswersError(f"{where}: a style must be an object of style fields")
    try:  # the style-file checks: same fields, same ranges, nothing that could inject CSS
        checked = validate_overrides({"neutral": data}, where)["*"]["neutral"]
        return WordStyle(**checked)
    except StyleFileError as exc:
        raise AnswersError(str(exc)) from None
    except TypeError:
        raise AnswersError(f"{where}: a style needs at least color, background and font_family") from None


def _seed_user(profile_path: Path) -> AnswerSet:
    profile = _read_json(profile_path)
    if not isinstance(profile, dict):
        raise AnswersError(f"{profile_path.name}: expected an object")
    user = str(profile.get("user_id") or profile_path.name.removesuffix("_profile.json"))
    attributes = _attributes({k: profile.get(k) for k in ("age_group", "culture", "low_vision",
                                                           "color_blind", "dyslexia")}, profile_path.name)
    comparisons_path = profile_path.with_name(profile_path.name.replace("_profile.json", "_comparisons.jsonl"))
    try:
        lines = comparisons_path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnswersError(f"{profile_path.name} has no readable {comparisons_path.name}: "
                           f"{exc.strerror or exc}") from None
    answers = AnswerSet(user, attributes, source=str(comparisons_path))
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{comparisons_path.name}:{number}"
        try:
            row = json.loads(line)
            a, b, winner = int(row["style_a"]), int(row["style_b"]), int(row["winner"])
            emotion = normalise_emotion(row["emotion"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise AnswersError(f"{where}: not a comparison ({type(exc).__name__}: {exc})") from None
        if not (0 <= a < len(SEED_STYLES) and 0 <= b < len(SEED_STYLES)) or winner not in (a, b) or a == b:
            raise AnswersError(f"{where}: styles must be two different ids 0..5 and the winner one of them")
        answers.comparisons.append(Comparison(emotion, SEED_STYLES[a], SEED_STYLES[b], winner == a,
                                              SEED_STYLE_NAMES[a], SEED_STYLE_NAMES[b],
                                              row.get("response_time_ms")))
    return answers


def _survey_file(path: Path) -> AnswerSet:
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != ANSWERS_FORMAT:
        raise AnswersError(f"{path.name}: not a survey answers file (format {ANSWERS_FORMAT!r})")
    version = data.get("version")
    if version != ANSWERS_VERSION:
        raise AnswersError(f"{path.name}: answers version {version!r}; this sentimentogram reads version "
                           f"{ANSWERS_VERSION}")
    rows = data.get("comparisons")
    if not isinstance(rows, list) or not rows:
        raise AnswersError(f"{path.name}: no comparisons: finish the survey before saving")
    answers = AnswerSet(str(data.get("user") or path.stem), _attributes(data.get("attributes") or {}, path.name),
                        source=str(path))
    for i, row in enumerate(rows):
        where = f"{path.name}: comparison {i + 1}"
        if not isinstance(row, dict) or row.get("winner") not in ("a", "b"):
            raise AnswersError(f"{where}: needs a winner \"a\" or \"b\"")
        try:
            emotion = normalise_emotion(row.get("emotion"))
        except ValueError as exc:
            raise AnswersError(f"{where}: {exc}") from None
        a, b = _style(row.get("a"), f"{where} a"), _style(row.get("b"), f"{where} b")
        time_ms = row.get("response_time_ms")
        answers.comparisons.append(Comparison(emotion, a, b, row["winner"] == "a", _key(a), _key(b),
                                              int(time_ms) if isinstance(time_ms, (int, float)) else None))
    return answers


def load_answers(paths: list[Path]) -> list[AnswerSet]:
    """Every person's answers in ``paths``: survey JSON files and seed-study folders (or files)."""
    people: list[AnswerSet] = []
    for path in map(Path, paths):
        if path.is_dir():
            profiles = sorted(path.glob("*_profile.json"))
            surveys = sorted(p for p in path.glob("*.json") if not p.name.endswith("_profile.json"))
            if not profiles and not surveys:
                raise AnswersError(f"{path} holds no answers (*_profile.json with *_comparisons.jsonl, "
                                   "or survey .json files)")
            people += [_seed_user(p) for p in profiles] + [_survey_file(p) for p in surveys]
        elif path.name.endswith("_profile.json"):
            people.append(_seed_user(path))
        elif path.name.endswith("_comparisons.jsonl"):
            people.append(_seed_user(path.with_name(path.name.replace("_comparisons.jsonl", "_profile.json"))))
        elif not path.exists():
            raise InputError(f"answers file {path} does not exist")
        else:
            people.append(_survey_file(path))
    return [p for p in people if p.comparisons]
