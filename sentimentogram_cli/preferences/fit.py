"""Fitting profiles: the population prior from many people, a personal profile from one.

Population: precision by leave-one-person-out log-loss, then one fit on everyone (prior mean 0).
Personal: one MAP fit of the person's answers around the population's weights, held there with
the population profile's personal precision and context ratio (chosen when it was fitted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .data import AnswersError, AnswerSet
from .profile import Profile
from .ranker import (POPULATION_GRID, Design, choose_personal_precision, choose_population_precision, design,
                     fit_map, personal_precision, predict, single_threaded)
from .space import CONTEXT, FEATURES, UserAttributes

__all__ = ["Score", "fit_population", "fit_personal", "merge_attributes"]

_Z95 = 1.959964


@dataclass
class Score:
    """Pairwise accuracy: ``correct`` (a tie counts 1/2) out of ``n`` comparisons."""

    correct: float
    n: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    def interval(self) -> tuple[float, float]:
        """Wilson 95% interval (it treats comparisons as independent: the people make it wider)."""
        if not self.n:
            return float("nan"), float("nan")
        p, n, z2 = self.accuracy, self.n, _Z95 ** 2
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = _Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return float(centre - half), float(centre + half)

    @staticmethod
    def of(p: np.ndarray, y: np.ndarray) -> "Score":
        """Score probabilities ``p`` (a won) against outcomes ``y``; p = 1/2 exactly scores 1/2."""
        hits = np.where(np.isclose(p, 0.5), 0.5, ((p > 0.5) == (y > 0.5)).astype(float))
        return Score(float(hits.sum()), len(y))

    def __add__(self, other: "Score") -> "Score":
        return Score(self.correct + other.correct, self.n + other.n)

    def to_dict(self) -> dict:
        low, high = self.interval()
        return {"accuracy": round(self.accuracy, 4), "n": self.n, "ci95": [round(low, 4), round(high, 4)]}


def merge_attributes(people: Sequence[AnswerSet]) -> UserAttributes:
    """One person's attributes from several answer files; said values must agree."""
    merged: dict = {}
    for person in people:
        for key, value in person.attributes.to_dict().items():
            if value is None:
                continue
            if merged.get(key, value) != value:
                raise AnswersError(f"the answers disagree on {key} ({merged[key]!r} and {value!r}): "
                                   "give one person's answers, or use --population")
            merged[key] = value
    return UserAttributes(**merged)


def fit_population(people: Sequence[AnswerSet], seed: int = 0,
                   tick: Callable[[], None] | None = None) -> Profile:
    """The population prior from everyone's answers (at least two people)."""
    if len(people) < 2:
        raise AnswersError("a population prior needs the answers of at least two people")
    designs = [design(p) for p in people]
    with single_threaded():
        precision, held_out_fits = choose_population_precision(designs, tick=tick)
        personal, ratio = choose_personal_precision(designs, [p.user for p in people], held_out_fits, seed)
        weights = fit_map(Design.stack(designs), None, precision)
    louo = sum((Score.of(predict(d, w), d.y) for d, w in zip(designs, held_out_fits)), Score(0, 0))
    evaluation = {"protocol": "leave one person out (precision chosen on the same folds; "
                              "`prefs evaluate` nests the choice)", **louo.to_dict()}
    return Profile("population", weights.reshape(len(FEATURES), len(CONTEXT)), UserAttributes(),
                   population_precision=precision, personal_precision=personal, context_ratio=ratio,
                   n_people=len(people),
                   n_comparisons=sum(len(d.y) for d in designs), evaluation=evaluation,
                   prior=f"N(0, I/{precision:g}); precision from {list(POPULATION_GRID)}")


def fit_personal(people: Sequence[AnswerSet], prior: Profile, prior_name: str) -> Profile:
    """One person's profile: MAP around ``prior``'s weights. Its evaluation is leave-one-answer-out
    accuracy of the personal fit, next to the prior's own accuracy on the same answers."""
    attributes = merge_attributes(people)
    person = AnswerSet("you", attributes, [c for p in people for c in p.comparisons])
    data = design(person)
    if not len(data.y):
        raise AnswersError("no comparisons in the answers")
    mean = prior.weights.ravel()
    precision = personal_precision(prior.personal_precision, prior.context_ratio)
    with single_threaded():
        weights = fit_map(data, mean, precision)
        p_loo = np.array([predict(data.take([i]), fit_map(data.take([j for j in range(len(data.y)) if j != i]),
                                                              mean, precision))[0]
                          for i in range(len(data.y))])
    evaluation = {"protocol": "leave one answer out", **Score.of(p_loo, data.y).to_dict(),
                  "prior_only": Score.of(predict(data, mean), data.y).to_dict()}
    return Profile("personal", weights.reshape(len(FEATURES), len(CONTEXT)), attributes,
                   population_precision=prior.population_precision,
                   personal_precision=prior.personal_precision, context_ratio=prior.context_ratio,
                   n_people=1, n_comparisons=len(data.y),
                   evaluation=evaluation, prior=prior_name)
