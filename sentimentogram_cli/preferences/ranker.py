"""The population's pairwise logistic (Bradley-Terry) ranker and how its prior strength is chosen.

A style's utility in a context is ``features(style) @ W @ context``: one weight per (style
feature, context feature) pair. P(a preferred to b) = sigmoid(u(a) - u(b)), which has no
intercept, so swapping the two sides flips the probability exactly. The population's weights are
the MAP fit of everyone's answers under ``W ~ N(0, I/precision)``, the precision picked by
leave-one-person-out log-loss among the training people, never on the answers it is scored on.
A person's own deviation from these weights is ``personal.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .data import AnswerSet, Comparison
from .space import CONTEXT, FEATURES, UserAttributes, context_vector, style_features

__all__ = ["POPULATION_GRID", "Design", "design", "fit_map", "predict", "log_loss", "split_halves",
           "choose_population_precision", "single_threaded", "N_WEIGHTS"]

N_WEIGHTS = len(FEATURES) * len(CONTEXT)
POPULATION_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


@dataclass
class Design:
    """The comparisons of one person as a logistic regression: rows x, outcomes y (1: a won)."""

    x: np.ndarray  # (n, N_WEIGHTS)
    y: np.ndarray  # (n,)

    def take(self, rows) -> "Design":
        return Design(self.x[rows], self.y[rows])

    @staticmethod
    def stack(parts: Sequence["Design"]) -> "Design":
        if not parts:
            return Design(np.zeros((0, N_WEIGHTS)), np.zeros(0))
        return Design(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]))


def comparison_row(comparison: Comparison, attributes: UserAttributes) -> np.ndarray:
    delta = style_features(comparison.style_a) - style_features(comparison.style_b)
    return np.outer(delta, context_vector(comparison.emotion, attributes)).ravel()


def design(answers: AnswerSet) -> Design:
    rows = [comparison_row(c, answers.attributes) for c in answers.comparisons]
    x = np.array(rows) if rows else np.zeros((0, N_WEIGHTS))
    return Design(x, np.array([1.0 if c.a_wins else 0.0 for c in answers.comparisons]))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


@contextmanager
def single_threaded() -> Iterator[None]:
    """One BLAS thread for the many small fits: on a busy machine a thread pool makes each of
    these 120 x 120 solves over ten times slower, not faster."""
    import torch  # here, not at the top: profiles and pages need only numpy

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_map(data: Design, prior_mean: np.ndarray | None, precision: float | np.ndarray,
            init: np.ndarray | None = None, iterations: int = 50) -> np.ndarray:
    """MAP weights by Newton's method (the objective is strictly convex: one optimum).

    In torch (float64), whose thread count ``single_threaded`` can set; numpy's BLAS offers no such
    switch once it is loaded."""
    import torch

    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    mean = torch.zeros(N_WEIGHTS, dtype=torch.float64) if prior_mean is None \
        else torch.as_tensor(np.asarray(prior_mean, float).ravel())
    precision = torch.as_tensor(np.broadcast_to(np.asarray(precision, float), (N_WEIGHTS,)).copy())
    w = mean.clone() if init is None else torch.as_tensor(np.asarray(init, float)).clone()
    for _ in range(iterations):
        p = torch.sigmoid(x @ w)
        gradient = x.T @ (p - y) + precision * (w - mean)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + torch.diag(precision)
        step = torch.linalg.solve(hessian, gradient)
        w -= step
        if float(step.abs().max()) < 1e-7:
            break
    return w.numpy()


def predict(data: Design, weights: np.ndarray) -> np.ndarray:
    """P(a preferred to b) for each row."""
    return _sigmoid(data.x @ np.asarray(weights).ravel())


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


def split_halves(n: int, seed: int, user: str) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random half of a person's answers and the rest (the same for every method)."""
    rng = np.random.default_rng([seed, *user.encode("utf-8")])
    order = rng.permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def choose_population_precision(designs: Sequence[Design], grid: Sequence[float] = POPULATION_GRID,
                                 tick: Callable[[], None] | None = None) -> tuple[float, list[np.ndarray]]:
    """The precision with the lowest leave-one-person-out log-loss on ``designs``, and for it the
    weights fitted without each person (reused to choose the personal precision)."""
    grid = sorted(grid, reverse=True)
    losses = dict.fromkeys(grid, 0.0)
    fits: dict[float, list[np.ndarray]] = {k: [] for k in grid}
    for i in range(len(designs)):
        train, w = Design.stack([d for j, d in enumerate(designs) if j != i]), None
        for precision in grid:  # strongest first, each fit starting from the last: few Newton steps
            w = fit_map(train, None, precision, init=w)
            fits[precision].append(w)
            losses[precision] += log_loss(predict(designs[i], w), designs[i].y)
        if tick:
            tick()
    best = min(grid, key=lambda k: (round(losses[k], 9), -k))  # a tie goes to the stronger prior
    return best, fits[best]
