"""The evaluation table: how well each method predicts which of two styles a person prefers.

Two protocols, each scoring every comparison exactly once:

* leave one person out: fit on everyone else, predict all of the left-out person's comparisons
  (a new user who has answered nothing, only their attributes are known);
* within person: a fixed random half of each person's comparisons is known, the other half is
  predicted, and then the other way round (a user who has done a short survey).

Every choice of prior precision (the population's, and how far a person may move from it) happens
inside the training people of the fold (nested), never on the predicted comparisons: the left-out
person's answers reach only the final fit (their known half) and the scoring (the other half). The
culture/age rule is fixed in advance and sees no answers. Within person, the known half is also
replayed as a survey, in the study's order and in the adaptive order, for the accuracy curve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .data import AnswerSet, Comparison
from .fit import Score
from .adaptive import ORDERS, replay
from .personal import Shrinkage, choose_shrinkage, fit_one, rows_of
from .ranker import Design, choose_population_precision, design, fit_map, predict, single_threaded, split_halves
from .space import FEATURES, UserAttributes, style_features

__all__ = ["METHODS", "EvaluationRow", "EvaluationReport", "evaluate", "rule_preference"]

METHODS = ("random", "majority style", "culture/age rule", "learned ranker (population)",
           "learned ranker (personalised)")
_SIZE, _COLOUR, _MOTION = (FEATURES.index(f) for f in ("size", "colour", "motion"))


@dataclass
class EvaluationRow:
    method: str
    louo: Score | None  # None: the method needs the person's own answers
    within: Score | None


@dataclass
class EvaluationReport:
    rows: list[EvaluationRow]
    n_people: int
    n_comparisons: int
    population_precisions: list[float] = field(default_factory=list)  # chosen per outer fold
    shrinkages: list[Shrinkage] = field(default_factory=list)  # chosen per outer fold
    curve: dict[str, list[Score]] = field(default_factory=dict)  # order -> accuracy after 0, 1, ... answers
    personalised: dict[str, np.ndarray] = field(default_factory=dict)  # user -> P(a) of each answer, predicted
    seed: int = 0


def rule_preference(attributes: UserAttributes, comparison: Comparison) -> float:
    """P(a) by the paper's demographic heuristics, first rule that tells the two apart wins:
    seniors and low vision want larger text, the young want motion, colour-blind and eastern
    readers want less colour, western readers more. No rule applies: 1/2."""
    delta = style_features(comparison.style_a) - style_features(comparison.style_b)
    rules = [
        (attributes.age_group == "senior", delta[_SIZE]),
        (attributes.age_group == "young", delta[_MOTION]),
        (bool(attributes.low_vision), delta[_SIZE]),
        (bool(attributes.color_blind), -delta[_COLOUR]),
        (attributes.culture == "eastern", -delta[_COLOUR]),
        (attributes.culture == "western", delta[_COLOUR]),
    ]
    for applies, difference in rules:
        if applies and abs(difference) > 1e-9:
            return 1.0 if difference > 0 else 0.0
    return 0.5


def _win_rates(comparisons: Sequence[Comparison]) -> dict[str, float]:
    wins, seen = Counter(), Counter()
    for c in comparisons:
        seen[c.key_a] += 1
        seen[c.key_b] += 1
        wins[c.key_a if c.a_wins else c.key_b] += 1
    return {k: wins[k] / seen[k] for k in seen}


def _majority(comparisons: Sequence[Comparison], rates: dict[str, float],
              fallback: dict[str, float] | None = None) -> np.ndarray:
    """P(a) = 1 where a has the higher win rate (ties go to ``fallback``'s rates, then 1/2)."""
    out = []
    for c in comparisons:
        p = 0.5
        for table in (rates, fallback or {}):
            a, b = table.get(c.key_a, 0.5), table.get(c.key_b, 0.5)
            if abs(a - b) > 1e-12:
                p = 1.0 if a > b else 0.0
                break
        out.append(p)
    return np.array(out)


def evaluate(people: Sequence[AnswerSet], seed: int = 0,
             tick: Callable[[], None] | None = None) -> EvaluationReport:
    """Both protocols for every method on ``people`` (at least three people)."""
    with single_threaded():
        return _evaluate(people, seed, tick)


def _evaluate(people: Sequence[AnswerSet], seed: int, tick: Callable[[], None] | None) -> EvaluationReport:
    if len(people) < 3:
        raise ValueError("the evaluation needs the answers of at least three people")
    designs = [design(p) for p in people]
    scores = {m: [Score(0, 0), Score(0, 0)] for m in METHODS}  # [leave-one-person-out, within]
    report = EvaluationReport([], len(people), sum(len(d.y) for d in designs), seed=seed)

    def add(method: str, protocol: int, p: np.ndarray, y: np.ndarray) -> None:
        scores[method][protocol] += Score.of(p, y)

    all_rows = [rows_of(p) for p in people]
    halves = [split_halves(len(d.y), seed, p.user) for p, d in zip(people, designs)]
    for u, (person, data) in enumerate(zip(people, designs)):
        others = [i for i in range(len(people)) if i != u]
        train = [designs[i] for i in others]
        precision, held_out_fits = choose_population_precision(train)
        selection = choose_shrinkage([(all_rows[i], w, halves[i]) for i, w in zip(others, held_out_fits)])
        shrinkage = selection.best()
        report.population_precisions.append(precision)
        report.shrinkages.append(shrinkage)
        w_population = fit_map(Design.stack(train), None, precision)
        population_rates = _win_rates([c for i in others for c in people[i].comparisons])
        rule = np.array([rule_preference(person.attributes, c) for c in person.comparisons])

        add("random", 0, np.full(len(data.y), 0.5), data.y)
        add("majority style", 0, _majority(person.comparisons, population_rates), data.y)
        add("culture/age rule", 0, rule, data.y)
        add("learned ranker (population)", 0, predict(data, w_population), data.y)

        rows, offset = all_rows[u], all_rows[u].offset(w_population)
        first, second = halves[u]
        report.personalised[person.user] = np.full(len(data.y), np.nan)
        for known, hidden in ((first, second), (second, first)):
            y = data.y[hidden]
            own_rates = _win_rates([person.comparisons[i] for i in known])
            add("random", 1, np.full(len(hidden), 0.5), y)
            add("majority style", 1, _majority([person.comparisons[i] for i in hidden], own_rates,
                                               population_rates), y)
            add("culture/age rule", 1, rule[hidden], y)
            add("learned ranker (population)", 1, predict(data.take(hidden), w_population), y)
            fit = fit_one(rows.take(known), offset[known], shrinkage)
            p_hidden = 1 / (1 + np.exp(-(offset[hidden] + fit.latent(rows.take(hidden))[0])))
            report.personalised[person.user][hidden] = p_hidden
            add("learned ranker (personalised)", 1, p_hidden, y)
            for order in ORDERS:
                steps = replay(rows, offset, shrinkage, known, hidden, order)
                curve = report.curve.setdefault(order, [])
                for n, score in enumerate(steps):  # people with more answers reach further
                    curve.extend([Score(0, 0)] * (n + 1 - len(curve)))
                    curve[n] += score
        if tick:
            tick()

    for method in METHODS:
        louo, within = scores[method]
        report.rows.append(EvaluationRow(method, louo if louo.n else None, within if within.n else None))
    return report
