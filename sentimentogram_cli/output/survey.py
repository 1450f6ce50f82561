"""The preference survey: one self-contained page that asks for a few optional attributes, shows
about a dozen pairs of one subtitle line in two styles, and saves the choices as JSON.

Each candidate pair is an emotion's preset against the preset with one or a few style features
changed, so an answer speaks about those features. The survey is adaptive: after each answer the
page refits the person's profile (the personal model of ``preferences/personal.py``, around the shipped
population prior) and asks the pair with the largest expected information gain
(``adaptive.next_pair``). ``ask`` runs the same rule in Python, for tests and simulations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from markupsafe import Markup

from ..constants import EMOTIONS
from .page import font_face_css, json_for_script  # the page's own inlined font faces
from .templates import environment
from ..preferences.adaptive import next_pair
from ..preferences.data import ANSWERS_FORMAT, ANSWERS_VERSION, AnswerSet, Comparison
from ..preferences.personal import Rows, fit_one, prototype_map, rows_of
from ..preferences.profile import Profile, population_prior
from ..preferences.space import AGE_GROUPS, CONTEXT, CULTURES, FEATURES, UserAttributes, context_vector, style_features
from ..colour import ensure_contrast, parse_hex
from ..typography import PRESETS, WordStyle, css_font_stack

__all__ = ["LINES", "PROBES", "SurveyPair", "candidate_pairs", "ask", "survey_model", "render_survey"]

# A short line that sounds like each emotion, so the style is judged where it would be used.
LINES = {
    "neutral": "The train leaves at nine tomorrow.",
    "happy": "We did it, we actually won!",
    "sad": "I really miss how it used to be.",
    "angry": "Don't you ever do that again!",
    "fear": "Did you hear something downstairs?",
    "disgust": "Ugh, the milk has gone off again.",
    "surprise": "Wait, you came all this way?",
}


def _scaled_size(s: WordStyle) -> dict:
    return {"size": round(min(1.7, s.size * 1.3), 2)} if s.size < 1.3 else {"size": round(s.size / 1.3, 2)}


def _emphasis(s: WordStyle) -> dict:
    return {"weight": s.weight + 300} if s.weight <= 500 else {"weight": s.weight - 300}


def _bolder(s: WordStyle) -> dict:
    """Larger and heavier together (smaller and lighter for a preset already at the top)."""
    if s.size < 1.3 and s.weight < 900:
        return {"size": round(min(1.7, s.size * 1.3), 2), "weight": min(900, s.weight + 300)}
    return {"size": round(s.size / 1.3, 2), "weight": max(100, s.weight - 300)}


def _channels(color: str) -> list[int]:
    return [round(c * 255) for c in parse_hex(color)]


def _muted(s: WordStyle) -> dict:
    grey = sum(_channels(s.color)) // 3
    mixed = "#" + "".join(f"{round(c * 0.4 + grey * 0.6):02x}" for c in _channels(s.color))
    return {"color": ensure_contrast(mixed, s.background)}


def _lifted(s: WordStyle) -> dict:
    return {"color": "#" + "".join(f"{round(c + (255 - c) * 0.45):02x}" for c in _channels(s.color))}


def _family(s: WordStyle) -> dict:
    return {"font_family": "Poppins" if s.font_family == "Merriweather" else "Merriweather"}


# name -> (what changes, for which presets it makes sense)
PROBES = {
    "size": (_scaled_size, lambda s: True),
    "colour": (_muted, lambda s: style_features(s)[1] > 0.2),
    "emphasis": (_emphasis, lambda s: True),
    "motion": (lambda s: {"animation": "none", "animation_strength": 0.0}, lambda s: s.animation != "none"),
    "contrast": (_lifted, lambda s: True),
    "serif": (_family, lambda s: True),
    "italic": (lambda s: {"italic": not s.italic}, lambda s: True),
    "spacing": (lambda s: {"letter_spacing": round(s.letter_spacing + 0.08, 3)}, lambda s: True),
    "bold": (_bolder, lambda s: True),
    "classic": (lambda s: {**_family(s), "italic": not s.italic}, lambda s: True),
    "quiet": (lambda s: {**_muted(s), "animation": "none", "animation_strength": 0.0},
              lambda s: s.animation != "none" and style_features(s)[1] > 0.2),
    "modern": (lambda s: {"letter_spacing": round(s.letter_spacing + 0.08, 3), "font_family": "Poppins",
                          "italic": False, "weight": 300}, lambda s: s.font_family != "Poppins"),
}


@dataclass
class SurveyPair:
    emotion: str
    probe: str  # which PROBES entry made the second style
    a: WordStyle  # shown on the left
    b: WordStyle

    def to_dict(self, number: int) -> dict:
        return {"pair": number, "emotion": self.emotion, "probe": self.probe, "line": LINES[self.emotion],
                "a": self.a.to_dict(), "b": self.b.to_dict(),
                "stack_a": css_font_stack(self.a.font_family), "stack_b": css_font_stack(self.b.font_family)}


def candidate_pairs(seed: int = 0) -> list[SurveyPair]:
    """Every pair the survey may ask: each emotion's western preset (dark caption box, as on the
    page) against each change that makes sense for it, the preset on a random side."""
    rng = np.random.default_rng(seed)
    pairs = []
    for emotion in EMOTIONS:
        preset = PRESETS["western"][emotion]
        for probe, (change, applies) in PROBES.items():
            if applies(preset):
                variant = replace(preset, **change(preset))
                left, right = (preset, variant) if rng.random() < 0.5 else (variant, preset)
                pairs.append(SurveyPair(emotion, probe, left, right))
    return pairs


def _rows(pairs: Sequence[SurveyPair], attributes: UserAttributes) -> Rows:
    answers = AnswerSet("survey", attributes, [Comparison(p.emotion, p.a, p.b, False, "a", "b") for p in pairs])
    return rows_of(answers)


def ask(pairs: Sequence[SurveyPair], answer: Callable[[SurveyPair], bool], n: int,
        attributes: UserAttributes = UserAttributes(), prior: Profile | None = None) -> list[tuple[int, bool]]:
    """The survey page's own rule, run here: ``n`` times, ask the most informative pair not yet
    asked (``adaptive.next_pair`` under ``prior``'s shrinkage), and record ``answer(pair)`` (True:
    the left one). Returns (index into ``pairs``, left chosen) in the order asked."""
    prior = prior or population_prior()
    pool = _rows(pairs, attributes)
    offset = pool.offset(prior.weights)
    asked: list[tuple[int, bool]] = []
    for _ in range(min(n, len(pairs))):
        index = [i for i, _ in asked]
        known = pool.take(index)
        known.y = np.array([1.0 if won else 0.0 for _, won in asked])
        fit = fit_one(known, offset[index], prior.shrinkage)
        choice = next_pair(fit, pool, offset, [i for i in range(len(pairs)) if i not in index])
        asked.append((choice, bool(answer(pairs[choice]))))
    return asked


def survey_model(prior: Profile) -> dict:
    """What the page needs to run ``ask`` itself: the population's weights, the prior covariance of
    a person's taste column (``S``) and of the context columns (``context``), and the context
    vector of each emotion for a person who said nothing (the page adds what they say)."""
    v = prior.shrinkage.variances()
    p = prototype_map()
    s = v[0] * p @ p.T + v[1] * np.eye(len(FEATURES))
    return {"weights": np.round(prior.weights, 9).tolist(), "taste_cov": np.round(s, 12).tolist(),
            "context_var": float(v[2]), "context": list(CONTEXT),
            "emotion_context": {e: context_vector(e, UserAttributes()).tolist() for e in EMOTIONS}}


def render_survey(n_pairs: int = 12, seed: int = 0, prior: Profile | None = None) -> str:
    """The survey page's HTML: fonts, styles and script inside, no request leaves it. The page
    holds every candidate pair and asks ``n_pairs`` of them, each chosen after the last answer."""
    prior = prior or population_prior()
    pairs = candidate_pairs(seed)
    data = {"format": ANSWERS_FORMAT, "version": ANSWERS_VERSION, "survey": uuid.uuid4().hex[:12],
            "seed": seed, "n_pairs": min(n_pairs, len(pairs)), "model": survey_model(prior),
            "pairs": [{**p.to_dict(i), "delta": (style_features(p.a) - style_features(p.b)).tolist()}
                      for i, p in enumerate(pairs)],
            "ages": list(AGE_GROUPS), "cultures": list(CULTURES)}
    return environment().get_template("survey.html.j2").render(
        font_css=Markup(font_face_css()), survey_json=json_for_script(data), n_pairs=data["n_pairs"],
        caption_bg=PRESETS["western"]["neutral"].background)
