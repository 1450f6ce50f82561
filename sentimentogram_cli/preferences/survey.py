"""The preference survey: one self-contained page that asks for a few optional attributes, shows
about a dozen pairs of one subtitle line in two styles, and saves the choices as JSON.

Each pair is the emotion's preset against the preset with one or two style features changed, so
an answer speaks about those features. Pairs are picked greedily by how much an answer would tell
the population prior (p(1 - p) times the size of the change: the Fisher information of one
Bradley-Terry answer), while every kind of change and every emotion gets its turn.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from functools import lru_cache

import jinja2
import numpy as np
from markupsafe import Markup

from ..assets import resource_dir
from ..constants import EMOTIONS
from ..output.page import font_face_css, json_for_script  # the page's own inlined font faces
from .data import ANSWERS_FORMAT, ANSWERS_VERSION
from .profile import Profile, population_prior
from .space import AGE_GROUPS, CULTURES, context_vector, style_features, UserAttributes
from ..colour import ensure_contrast
from ..typography import PRESETS, css_font_stack
from ..typography import WordStyle as Style

__all__ = ["LINES", "PROBES", "SurveyPair", "choose_pairs", "render_survey"]

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


def _scaled_size(s: Style) -> dict:
    return {"size": round(min(1.7, s.size * 1.3), 2)} if s.size < 1.3 else {"size": round(s.size / 1.3, 2)}


def _emphasis(s: Style) -> dict:
    return {"weight": s.weight + 300} if s.weight <= 500 else {"weight": s.weight - 300}


def _bolder(s: Style) -> dict:
    """Larger and heavier together (smaller and lighter for a preset already at the top)."""
    if s.size < 1.3 and s.weight < 900:
        return {"size": round(min(1.7, s.size * 1.3), 2), "weight": min(900, s.weight + 300)}
    return {"size": round(s.size / 1.3, 2), "weight": max(100, s.weight - 300)}


def _muted(s: Style) -> dict:
    grey = sum(int(s.color[i:i + 2], 16) for i in (1, 3, 5)) // 3
    mixed = "#" + "".join(f"{round(int(s.color[i:i + 2], 16) * 0.4 + grey * 0.6):02x}" for i in (1, 3, 5))
    return {"color": ensure_contrast(mixed, s.background)}


def _lifted(s: Style) -> dict:
    rgb = [int(s.color[i:i + 2], 16) for i in (1, 3, 5)]
    return {"color": "#" + "".join(f"{round(c + (255 - c) * 0.45):02x}" for c in rgb)}


def _family(s: Style) -> dict:
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
    a: Style  # shown on the left
    b: Style

    def to_dict(self, number: int) -> dict:
        return {"pair": number, "emotion": self.emotion, "probe": self.probe, "line": LINES[self.emotion],
                "a": self.a.to_dict(), "b": self.b.to_dict(),
                "stack_a": css_font_stack(self.a.font_family), "stack_b": css_font_stack(self.b.font_family)}


def choose_pairs(n: int = 12, seed: int = 0, prior: Profile | None = None) -> list[SurveyPair]:
    """``n`` informative pairs on the western presets (dark caption box, as on the page)."""
    prior = prior or population_prior()
    rng = np.random.default_rng(seed)
    candidates = []
    for emotion in EMOTIONS:
        preset = PRESETS["western"][emotion]
        z = context_vector(emotion, UserAttributes())
        for probe, (change, applies) in PROBES.items():
            if not applies(preset):
                continue
            variant = replace(preset, **change(preset))
            delta = style_features(variant) - style_features(preset)
            p = 1 / (1 + np.exp(-(delta @ prior.weights @ z)))
            # rng.random() only breaks ties, so the seed reorders equally good pairs.
            candidates.append((p * (1 - p) * float(np.outer(delta, z).ravel() @ np.outer(delta, z).ravel()),
                               rng.random(), emotion, probe, preset, variant))
    pairs, used_probes, used_emotions = [], {}, {}
    while len(pairs) < n and candidates:
        # Fewest uses of the probe, then of the emotion, then the most informative.
        best = min(candidates, key=lambda c: (used_probes.get(c[3], 0), used_emotions.get(c[2], 0), -c[0], c[1]))
        candidates.remove(best)
        _, _, emotion, probe, preset, variant = best
        used_probes[probe] = used_probes.get(probe, 0) + 1
        used_emotions[emotion] = used_emotions.get(emotion, 0) + 1
        left, right = (preset, variant) if rng.random() < 0.5 else (variant, preset)
        pairs.append(SurveyPair(emotion, probe, left, right))
    order = rng.permutation(len(pairs))  # shuffled so neighbouring pairs differ in emotion
    return [pairs[i] for i in order]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(resource_dir("templates"))), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_survey(n_pairs: int = 12, seed: int = 0, prior: Profile | None = None) -> str:
    """The survey page's HTML: fonts, styles and script inside, no request leaves it."""
    pairs = choose_pairs(n_pairs, seed, prior)
    data = {"format": ANSWERS_FORMAT, "version": ANSWERS_VERSION, "survey": uuid.uuid4().hex[:12],
            "seed": seed, "pairs": [p.to_dict(i) for i, p in enumerate(pairs)],
            "ages": list(AGE_GROUPS), "cultures": list(CULTURES)}
    return _environment().get_template("survey.html.j2").render(
        font_css=Markup(font_face_css()), survey_json=json_for_script(data), n_pairs=len(pairs),
        caption_bg=PRESETS["western"]["neutral"].background)
