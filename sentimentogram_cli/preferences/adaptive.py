"""The adaptive survey: which pair to ask next, and how much that saves, replayed on real answers.

The next pair is the one whose answer is expected to tell the most about this person: the largest
expected information gain about their personal log-odds (BALD, Houlsby et al. 2011), from the
Laplace posterior of the personal model after the answers so far. A pair the profile already
predicts with confidence, or one whose outcome would be put down to chance, gains little.

``replay`` simulates it on a study that was not adaptive: a person's answered pairs are the only
ones available (a pair they never saw has no answer to replay), the adaptive order picks among
them, the study's own order is the baseline, and after every answer both predict the same held-out
pairs. The survey page runs the same rule in JavaScript (``templates/survey.html.j2``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .fit import Score
from .personal import PersonalFit, Rows, Shrinkage, fit_one

__all__ = ["information_gain", "next_pair", "replay", "ORDERS"]

ORDERS = ("fixed", "adaptive")
_C2 = math.pi * math.log(2) / 2  # Houlsby et al.'s constant, squared
_LAMBDA2 = math.pi / 8  # sigmoid(x) ~ Phi(x sqrt(pi / 8))


def information_gain(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Expected information (bits) one answer gives about the latent log-odds ~ N(mean, variance):
    the entropy of the predicted answer less its expected entropy given the log-odds, both with
    Houlsby et al.'s approximation h(Phi(x)) ~ exp(-x^2 / (pi ln 2)), the logistic taken as
    Phi(x sqrt(pi / 8)). Zero when the log-odds are known; larger the more open they are."""
    mean, variance = np.asarray(mean, float), np.asarray(variance, float)
    m2, v = _LAMBDA2 * mean ** 2, _LAMBDA2 * variance
    predicted = np.exp(-m2 / (math.pi * math.log(2) * (1 + v)))
    expected = math.sqrt(_C2) / np.sqrt(v + _C2) * np.exp(-m2 / (2 * (v + _C2)))
    return predicted - expected


def next_pair(fit: PersonalFit, pool: Rows, offset: np.ndarray, available: Sequence[int]) -> int:
    """The index (into ``pool``) among ``available`` with the largest information gain; a tie goes
    to the one listed first."""
    available = list(available)
    if not available:
        raise ValueError("no pair left to ask")
    candidates = pool.take(available)
    gain = information_gain(offset[available] + fit.latent(candidates)[0], fit.variance(candidates)[0])
    return available[int(np.argmax(np.round(gain, 9)))]


def _predict(fit: PersonalFit, rows: Rows, offset: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(offset + fit.latent(rows)[0])))


def replay(rows: Rows, offset: np.ndarray, shrinkage: Shrinkage, pool: Sequence[int],
           test: Sequence[int], order: str) -> list[Score]:
    """Accuracy on ``test`` after 0, 1, ... len(pool) answers taken from ``pool`` (indices into
    ``rows``) in the study's order (``fixed``) or chosen by ``next_pair`` (``adaptive``). The test
    pairs' answers are only ever scored, never fitted or used to choose."""
    if order not in ORDERS:
        raise ValueError(f"order {order!r}: expected one of {', '.join(ORDERS)}")
    pool, test = list(pool), list(test)
    hidden, y = rows.take(test), rows.y[test]
    asked: list[int] = []
    scores = []
    for step in range(len(pool) + 1):
        fit = fit_one(rows.take(asked), offset[asked], shrinkage)
        scores.append(Score.of(_predict(fit, hidden, offset[test]), y))
        if step == len(pool):
            break
        remaining = [i for i in pool if i not in asked]
        asked.append(remaining[0] if order == "fixed" else next_pair(fit, rows, offset, remaining))
    return scores
