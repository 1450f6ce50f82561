"""Fitting profiles: the population prior from many people, a personal profile from one.

Population: precision by leave-one-person-out log-loss, then one fit on everyone (prior mean 0),
and the personal shrinkage (``personal.py``) by how well each person's one half predicts the other
around a population fitted without them.
Personal: the person's deviation from the population's weights, with the population profile's
shrinkage; its accuracy is estimated by leaving each answer out in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .data import AnswersError, AnswerSet
from .personal import choose_shrinkage, fit_one, rows_of
from .profile import Profile
from .ranker import (POPULATION_GRID, Design, choose_population_precision, design, fit_map, predict,
                     single_threaded, split_halves)
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
        weights = fit_map(Design.stack(designs), None, precision)
    shrinkage = choose_shrinkage([(rows_of(p), w, split_halves(len(d.y), seed, p.user))
                                  for p, d, w in zip(people, designs, held_out_fits)]).best()
    louo = sum((Score.of(predict(d, w), d.y) for d, w in zip(designs, held_out_fits)), Score(0, 0))
    evaluation = {"protocol": "leave one person out (precision chosen on the same folds; "
                              "`prefs evaluate` nests the choice)", **louo.to_dict()}
    return Profile("population", weights.reshape(len(FEATURES), len(CONTEXT)), UserAttributes(),
                   population_precision=precision, shrinkage=shrinkage, n_people=len(people),
                   n_comparisons=sum(len(d.y) for d in designs), evaluation=evaluation,
                   prior=f"N(0, I/{precision:g}); precision from {list(POPULATION_GRID)}")


def fit_personal(people: Sequence[AnswerSet], prior: Profile, prior_name: str) -> Profile:
    """One person's profile: their deviation from ``prior``'s weights. Its evaluation is the
    leave-one-answer-out accuracy of the personal fit, next to the prior's own on the same answers."""
    attributes = merge_attributes(people)
    person = AnswerSet("you", attributes, [c for p in people for c in p.comparisons])
    rows = rows_of(person)
    if not len(rows):
        raise AnswersError("no comparisons in the answers")
    offset = rows.offset(prior.weights)
    deviation = fit_one(rows, offset, prior.shrinkage).weights()
    everyone = np.arange(len(rows))
    p_loo = []
    for i in everyone:
        rest = everyone[everyone != i]
        fit = fit_one(rows.take(rest), offset[rest], prior.shrinkage)
        p_loo.append(1 / (1 + np.exp(-(offset[i] + fit.latent(rows.take([i]))[0, 0]))))
    evaluation = {"protocol": "leave one answer out", **Score.of(np.array(p_loo), rows.y).to_dict(),
                  "prior_only": Score.of(1 / (1 + np.exp(-offset)), rows.y).to_dict(),
                  "left_chosen": int(rows.y.sum())}
    return Profile("personal", prior.weights + deviation, attributes,
                   population_precision=prior.population_precision, shrinkage=prior.shrinkage,
                   n_people=1, n_comparisons=len(rows), evaluation=evaluation,
                   prior=prior_name)
