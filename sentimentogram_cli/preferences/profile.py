"""Profiles: fitted ranker weights as versioned JSON, and the styles they choose for a page.

A profile is the ranker's weights plus the person's attributes. ``kind`` is ``population`` for
the prior fitted on everyone's answers (one ships in the package) or ``personal`` for one person's
MAP fit around it. For each culture and emotion the profile picks, among the candidates the
typography mapper allows (``candidates.py``), the one it ranks highest; it leaves an axis at the
preset's value unless it predicts a clear preference (``MARGIN``), so weights near 0 change nothing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..constants import CULTURES, EMOTIONS
from ..errors import ExitStatus, SentimentogramError
from ..atomic import atomic_write_text
from ..style_file import load_style_file
from ..typography import PRESETS, StyleOverrides, WordStyle
from .candidates import apply_options, candidate_options
from .personal import Shrinkage
from .space import CONTEXT, FEATURES, UserAttributes, context_vector, style_features

__all__ = ["PROFILE_FORMAT", "PROFILE_VERSION", "MARGIN", "ProfileError", "Profile", "Change", "Choice",
           "load_profile", "population_prior", "choose_style", "profile_overrides", "merge_overrides",
           "page_overrides", "PRIOR_PATH"]

PROFILE_FORMAT = "sentimentogram-preference-profile"
PROFILE_VERSION = 1
MARGIN = 0.05  # log-odds: an axis leaves its preset value only for a >1% predicted preference
PRIOR_PATH = Path(__file__).with_name("prior.json")


class ProfileError(SentimentogramError):
    """A profile file that cannot be read or was not written by a compatible sentimentogram."""

    exit_status = ExitStatus.USAGE


@dataclass
class Profile:
    kind: str  # "population" or "personal"
    weights: np.ndarray  # (len(FEATURES), len(CONTEXT)): utility = features @ weights @ context
    attributes: UserAttributes = field(default_factory=UserAttributes)
    population_precision: float = 1.0  # the prior precision the population weights were fitted with
    shrinkage: Shrinkage = field(default_factory=Shrinkage)  # how far a person may move from the population
    n_people: int = 0
    n_comparisons: int = 0
    evaluation: dict = field(default_factory=dict)  # cross-validated accuracy, as fit printed it
    prior: str = ""  # what a personal fit was pulled toward

    def to_dict(self) -> dict:
        return {"format": PROFILE_FORMAT, "version": PROFILE_VERSION, "kind": self.kind,
                "attributes": self.attributes.to_dict(), "features": list(FEATURES), "context": list(CONTEXT),
                "weights": [[round(float(v), 6) for v in row] for row in self.weights],
                "population_precision": self.population_precision,
                "shrinkage": self.shrinkage.to_dict(),
                "n_people": self.n_people,
                "n_comparisons": self.n_comparisons, "evaluation": self.evaluation, "prior": self.prior}

    def save(self, path: Path) -> None:
        text = json.dumps(self.to_dict(), indent=1)
        # One line per row of numbers: the weights table stays a readable 8 x 15 block.
        text = re.sub(r"\[\s+([-0-9.e,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        atomic_write_text(Path(path), text + "\n")

    @classmethod
    def from_dict(cls, data, source: str = "profile") -> "Profile":
        def bad(why: str) -> ProfileError:
            return ProfileError(f"{source}: {why}")

        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise bad(f"not a preference profile (format {PROFILE_FORMAT!r}): make one with `sentimentogram prefs fit`")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise bad("has no version number")
        if version > PROFILE_VERSION:
            raise bad(f"profile version {version} is newer than this sentimentogram reads ({PROFILE_VERSION}): upgrade")
        if version < PROFILE_VERSION:
            raise bad(f"profile version {version} is too old: refit it with `sentimentogram prefs fit`")
        if data.get("kind") not in ("population", "personal"):
            raise bad("kind must be population or personal")
        if data.get("features") != list(FEATURES) or data.get("context") != list(CONTEXT):
            raise bad("was fitted over other style or context features: refit it with `sentimentogram prefs fit`")
        try:
            weights = np.array(data.get("weights"), dtype=float)
        except (TypeError, ValueError):
            raise bad("weights must be a table of numbers") from None
        if weights.shape != (len(FEATURES), len(CONTEXT)) or not np.all(np.isfinite(weights)):
            raise bad(f"weights must be {len(FEATURES)} rows of {len(CONTEXT)} finite numbers")
        try:
            attributes = UserAttributes.from_dict(data.get("attributes") or {})
            numbers = {"population_precision": float(data.get("population_precision", 1.0))}
            counts = {k: int(data.get(k, 0)) for k in ("n_people", "n_comparisons")}
            if isinstance(data.get("shrinkage"), dict):
                shrinkage = Shrinkage.from_dict(data["shrinkage"])
            else:  # written before the style and side parts existed: a taste column and the rest
                taste = float(data.get("personal_precision", 10.0))
                shrinkage = Shrinkage(feature=taste, context=taste * float(data.get("context_ratio", 10.0)))
        except (TypeError, ValueError) as exc:
            raise bad(str(exc)) from None
        if not (math.isfinite(numbers["population_precision"]) and numbers["population_precision"] > 0):
            raise bad("precisions must be positive numbers")
        evaluation = data.get("evaluation") if isinstance(data.get("evaluation"), dict) else {}
        return cls(data["kind"], weights, attributes, n_people=counts["n_people"],
                   n_comparisons=counts["n_comparisons"], evaluation=evaluation,
                   prior=str(data.get("prior", "")), shrinkage=shrinkage, **numbers)


def load_profile(path: Path | str) -> Profile:
    """Read and check a profile; any problem is one ``ProfileError`` line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"profile {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path.name}: not valid JSON: {exc}") from None
    return Profile.from_dict(data, path.name)


@lru_cache(maxsize=1)
def population_prior() -> Profile:
    """The population prior shipped in the package (fitted on the seed study, see docs)."""
    if not PRIOR_PATH.is_file():
        raise ProfileError(f"the package's population prior {PRIOR_PATH.name} is missing: reinstall sentimentogram")
    return load_profile(PRIOR_PATH)


@dataclass
class Change:
    axis: str
    preset: str  # the preset's option, described
    chosen: str
    gain: float  # log-odds of preferring the chosen option to the preset's


@dataclass
class Choice:
    culture: str
    emotion: str
    preset: WordStyle
    style: WordStyle
    changes: list[Change]  # the axes that moved, largest gain first

    @property
    def gain(self) -> float:
        return sum(c.gain for c in self.changes)


def choose_style(profile: Profile, culture: str, emotion: str) -> Choice:
    """The highest-ranked candidate for ``emotion`` under ``culture``'s preset."""
    preset = PRESETS[culture][emotion]
    taste = profile.weights @ context_vector(emotion, profile.attributes)  # utility per unit feature
    base = style_features(preset) @ taste
    picked, changes = [], []
    for axis, options in candidate_options(culture, emotion).items():
        gains = [style_features(apply_options(preset, [o])) @ taste - base for o in options]
        best = int(np.argmax(gains))
        if best != 0 and gains[best] - gains[0] > MARGIN:
            picked.append(options[best])
            changes.append(Change(axis, options[0].label, options[best].label, float(gains[best] - gains[0])))
    changes.sort(key=lambda c: -c.gain)
    return Choice(culture, emotion, preset, apply_options(preset, picked), changes)


def profile_overrides(profile: Profile) -> StyleOverrides:
    """The chosen style of every culture and emotion, as style overrides (changed fields only)."""
    overrides: StyleOverrides = {}
    for culture in CULTURES:
        for emotion in EMOTIONS:
            choice = choose_style(profile, culture, emotion)
            chosen, preset = choice.style.to_dict(), choice.preset.to_dict()
            changed = {k: v for k, v in chosen.items() if v != preset[k]}
            if changed:
                overrides.setdefault(culture, {})[emotion] = changed
    return overrides


def merge_overrides(base: StyleOverrides | None, top: StyleOverrides | None) -> StyleOverrides | None:
    """``top`` over ``base`` field by field, spelt out per culture so that a ``*`` entry of ``top``
    beats a culture entry of ``base`` (style_word applies ``*`` before the culture's own)."""
    if not base or not top:
        return top or base or None
    merged: StyleOverrides = {}
    for culture in CULTURES:
        for emotion in EMOTIONS:
            fields: dict = {}
            for layer in (base, top):
                for key in ("*", culture):
                    fields.update(layer.get(key, {}).get(emotion, {}))
            if fields:
                merged.setdefault(culture, {})[emotion] = fields
    return merged


def page_overrides(style_file: Path | None, profile: Path | None) -> StyleOverrides | None:
    """The overrides a page is rendered with: the profile's chosen styles beat the culture/age
    presets, and a style file, written by hand for this render, beats the profile."""
    written = load_style_file(style_file) if style_file else None
    learned = profile_overrides(load_profile(profile)) if profile else None
    return merge_overrides(learned, written)
