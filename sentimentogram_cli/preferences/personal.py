"""A person's own taste on top of the population's: the personalised part of the ranker.

The population ranker scores a style by ``features @ W @ context``. A person deviates from it in
three ways, each with its own Gaussian prior (a precision; ``inf`` switches a part off):

* **style**: a preference for each of the study's six named styles, ``s ~ N(0, I/style)``. It lives
  in feature space through the prototypes' pseudo-inverse ``P`` (``F_centred @ P = I - 1/6``), so on
  the six named styles it is exactly one utility per style ("this person likes Bold"), and on any
  other style (the survey's variants, the typography mapper's candidates) it is the feature
  direction that separates those styles;
* **feature**: a taste per style feature (the taste column of ``W``), ``N(0, I/feature)``;
* **context**: how that taste changes with the emotion and the person (the other columns),
  ``N(0, I/context)``.

(A fourth part, a habit of picking the left answer, was tried and dropped: on the seed study it
made the within-person predictions worse whichever way its strength was chosen.)

All three are linear in the answers' rows, so the fit works in the space of the person's own answers
(a dozen numbers, not 120 weights): a logistic regression with the kernel ``K = X Sigma X^T`` and the
population's utility as an offset, fitted by Newton's method (the Laplace mode). Many prior settings
are fitted at once (one batch of small matrices), which is what makes choosing them by nested
cross-validation cheap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .data import AnswerSet, Comparison
from .space import CONTEXT, FEATURES, SEED_STYLES, UserAttributes, context_vector, style_features

__all__ = ["Shrinkage", "STYLE_GRID", "FEATURE_GRID", "CONTEXT_GRID", "SHRINKAGE_GRID",
           "Rows", "rows_of", "prototype_map", "kernel_parts", "PersonalFit", "fit_batch", "fit_one",
           "choose_shrinkage", "Selection", "log_loss_batch"]

INF = math.inf
STYLE_GRID = (0.3, 1.0, 3.0, 10.0, INF)
FEATURE_GRID = (0.3, 1.0, 3.0, 10.0, INF)
CONTEXT_GRID = (3.0, 30.0, 300.0, INF)
_BIAS = CONTEXT.index("bias")


@dataclass(frozen=True)
class Shrinkage:
    """Prior precisions of a person's deviation from the population (``inf``: that part is off)."""

    style: float = INF
    feature: float = 10.0
    context: float = 100.0

    def variances(self) -> np.ndarray:
        return np.array([0.0 if math.isinf(v) else 1.0 / v for v in (self.style, self.feature, self.context)])

    def to_dict(self) -> dict:
        return {k: (None if math.isinf(v) else v) for k, v in
                (("style", self.style), ("feature", self.feature), ("context", self.context))}

    @classmethod
    def from_dict(cls, data: dict) -> "Shrinkage":
        values = {k: (INF if data.get(k) is None else float(data[k])) for k in ("style", "feature", "context")}
        if not all(v > 0 for v in values.values()):
            raise ValueError("shrinkage precisions must be positive (null: off)")
        return cls(**values)

    def describe(self) -> str:
        return ", ".join(f"{k} {'off' if v is None else f'{v:g}'}" for k, v in self.to_dict().items())


# Every combination; the strongest prior (most shrinkage) first, so that ties go to it.
SHRINKAGE_GRID: tuple[Shrinkage, ...] = tuple(sorted(
    (Shrinkage(*c) for c in itertools.product(STYLE_GRID, FEATURE_GRID, CONTEXT_GRID)),
    key=lambda s: tuple(-v for v in (s.style, s.feature, s.context))))


@lru_cache(maxsize=1)
def prototype_map() -> np.ndarray:
    """``P`` (features x 6): feature direction of a per-named-style utility vector."""
    f = np.array([style_features(s) for s in SEED_STYLES])
    return np.linalg.pinv(f - f.mean(axis=0))


@dataclass
class Rows:
    """Answers as the personal model sees them: feature difference a - b, context, outcome."""

    delta: np.ndarray  # (n, len(FEATURES))
    z: np.ndarray  # (n, len(CONTEXT))
    y: np.ndarray  # (n,): 1 when a won

    def take(self, index) -> "Rows":
        return Rows(self.delta[index], self.z[index], self.y[index])

    def __len__(self) -> int:
        return len(self.y)

    def offset(self, weights: np.ndarray) -> np.ndarray:
        """The population's log-odds for a: ``delta @ W @ z`` per row."""
        w = np.asarray(weights).reshape(len(FEATURES), len(CONTEXT))
        return np.einsum("ni,ij,nj->n", self.delta, w, self.z)


def comparison_parts(c: Comparison, attributes: UserAttributes) -> tuple[np.ndarray, np.ndarray]:
    return style_features(c.style_a) - style_features(c.style_b), context_vector(c.emotion, attributes)


def rows_of(person: AnswerSet) -> Rows:
    parts = [comparison_parts(c, person.attributes) for c in person.comparisons]
    n = len(parts)
    delta = np.array([d for d, _ in parts]) if n else np.zeros((0, len(FEATURES)))
    z = np.array([z for _, z in parts]) if n else np.zeros((0, len(CONTEXT)))
    return Rows(delta, z, np.array([1.0 if c.a_wins else 0.0 for c in person.comparisons]))


def kernel_parts(a: Rows, b: Rows) -> np.ndarray:
    """(3, len(a), len(b)): the style, feature and context parts of the prior covariance of
    the rows' personal log-odds, each for a unit variance."""
    p = prototype_map()
    dd = a.delta @ b.delta.T
    zz = a.z @ b.z.T - np.outer(a.z[:, _BIAS], b.z[:, _BIAS])  # the context columns only
    return np.stack([(a.delta @ p) @ (b.delta @ p).T, dd * np.outer(a.z[:, _BIAS], b.z[:, _BIAS]), dd * zz])


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass
class PersonalFit:
    """A batch of fits (one per prior setting) of one person's answers, at the Laplace mode."""

    shrinkages: tuple[Shrinkage, ...]
    rows: Rows
    alpha: np.ndarray  # (G, n): the personal log-odds are K @ alpha; alpha = y - p at the mode
    k: np.ndarray  # (G, n, n)
    w: np.ndarray  # (G, n): p (1 - p) at the mode

    def latent(self, new: Rows) -> np.ndarray:
        """(G, m): the personal part of the log-odds of ``new`` rows."""
        cross = np.einsum("gk,kmn->gmn", _variances(self.shrinkages), kernel_parts(new, self.rows))
        return np.einsum("gmn,gn->gm", cross, self.alpha)

    def variance(self, new: Rows) -> np.ndarray:
        """(G, m): the Laplace posterior variance of the personal log-odds of ``new`` rows."""
        v = _variances(self.shrinkages)
        prior = np.einsum("gk,km->gm", v, np.einsum("kmm->km", kernel_parts(new, new)))
        cross = np.einsum("gk,kmn->gmn", v, kernel_parts(new, self.rows))
        if not len(self.rows):
            return prior
        root = np.sqrt(self.w)
        b = np.eye(len(self.rows)) + root[:, :, None] * self.k * root[:, None, :]
        s = np.linalg.solve(b, root[:, :, None] * np.swapaxes(cross, 1, 2))  # (G, n, m)
        return np.maximum(prior - np.einsum("gmn,gnm->gm", cross * root[:, None, :], s), 0.0)

    def weights(self, index: int = 0) -> np.ndarray:
        """The deviation from the population's weights (features x context)."""
        v = self.shrinkages[index].variances()
        a, rows = self.alpha[index], self.rows
        p = prototype_map()
        taste = v[0] * (p @ (p.T @ (rows.delta.T @ a))) + v[1] * rows.delta.T @ (a * rows.z[:, _BIAS])
        deviation = v[2] * np.einsum("n,ni,nj->ij", a, rows.delta, rows.z)
        deviation[:, _BIAS] = taste
        return deviation


def _variances(shrinkages: Sequence[Shrinkage]) -> np.ndarray:
    return np.array([s.variances() for s in shrinkages])


def fit_batch(rows: Rows, offset: np.ndarray, shrinkages: Sequence[Shrinkage], iterations: int = 40) -> PersonalFit:
    """Laplace mode of ``y ~ Bernoulli(sigmoid(offset + f))``, ``f ~ N(0, K_g)``, for every g at once
    (Rasmussen & Williams, algorithm 3.1, with an offset)."""
    shrinkages = tuple(shrinkages)
    n, g = len(rows), len(shrinkages)
    k = np.einsum("gk,kij->gij", _variances(shrinkages), kernel_parts(rows, rows))
    f, alpha, w = np.zeros((g, n)), np.zeros((g, n)), np.full((g, n), 0.25)
    eye = np.eye(n)
    for _ in range(iterations if n else 0):
        p = _sigmoid(offset + f)
        w = p * (1 - p)
        root = np.sqrt(w)
        b = eye + root[:, :, None] * k * root[:, None, :]
        grad = w * f + (rows.y - p)
        kb = np.einsum("gij,gj->gi", k, grad)
        alpha_new = grad - root * np.linalg.solve(b, (root * kb)[:, :, None])[:, :, 0]
        f_new = np.einsum("gij,gj->gi", k, alpha_new)
        done = np.max(np.abs(f_new - f)) < 1e-8
        f, alpha = f_new, alpha_new
        if done:
            break
    p = _sigmoid(offset + f)
    return PersonalFit(shrinkages, rows, rows.y - p if n else alpha, k, p * (1 - p))


def fit_one(rows: Rows, offset: np.ndarray, shrinkage: Shrinkage) -> PersonalFit:
    return fit_batch(rows, offset, (shrinkage,))


def log_loss_batch(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1)


@dataclass
class Selection:
    """Every prior setting's inner cross-validation result, summed over the training people."""

    grid: tuple[Shrinkage, ...]
    log_loss: np.ndarray  # (G,)
    correct: np.ndarray  # (G,): held-out answers predicted right (p = 1/2 counts 1/2)

    def best(self, allowed: np.ndarray | None = None) -> Shrinkage:
        """Most held-out answers right; then the lowest log-loss; then the most shrinkage."""
        allowed = np.ones(len(self.grid), bool) if allowed is None else np.asarray(allowed, bool)
        keys = [(-round(float(c), 6), round(float(loss), 9), i) for i, (c, loss) in
                enumerate(zip(self.correct, self.log_loss)) if allowed[i]]
        return self.grid[min(keys)[2]]


def choose_shrinkage(people: Sequence[tuple[Rows, np.ndarray, tuple[np.ndarray, np.ndarray]]],
                     grid: Sequence[Shrinkage] = SHRINKAGE_GRID) -> Selection:
    """How well each prior setting lets each (training) person's one half predict the other:
    ``people`` holds (rows, population weights fitted without that person, (first half, second
    half)). The left-out person of an outer fold must not be among ``people``."""
    grid = tuple(grid)
    losses, correct = np.zeros(len(grid)), np.zeros(len(grid))
    for rows, weights, halves in people:
        offset = rows.offset(weights)
        for known, hidden in (halves, halves[::-1]):
            fit = fit_batch(rows.take(known), offset[known], grid)
            z = offset[hidden] + fit.latent(rows.take(hidden))
            p, y = _sigmoid(z), rows.y[hidden]
            losses += log_loss_batch(p, y)
            correct += np.where(np.abs(z) < 1e-9, 0.5, (z > 0) == (y > 0.5)).sum(axis=1)
    return Selection(grid, losses, correct)
