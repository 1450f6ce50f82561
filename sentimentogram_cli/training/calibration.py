"""Calibrated confidence: temperature scaling fitted on validation speakers, and its measure (ECE).

Why: the page scales how far a word's style departs from neutral by the model's confidence, so a
confidence of 0.7 must mean "right 70% of the time". One temperature divides the logits (Guo et
al., 2017, "On Calibration of Modern Neural Networks"): it changes no prediction, only how sure
each one claims to be. It is fitted on validation speakers, never on a test split.
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax", "fit_temperature", "expected_calibration_error", "calibrated_ece_floor"]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = softmax(logits, temperature)[np.arange(len(y)), y]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the negative log-likelihood of labels ``y``.

    The NLL is unimodal in log T: a coarse grid, then a golden-section search around its best.
    """
    if len(y) == 0:
        return 1.0
    grid = np.linspace(np.log(0.05), np.log(20.0), 61)
    best = int(np.argmin([_nll(logits, y, np.exp(g)) for g in grid]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if _nll(logits, y, np.exp(a)) < _nll(logits, y, np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(probabilities: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by bin size."""
    probabilities = np.asarray(probabilities)
    if len(y) == 0:
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def calibrated_ece_floor(probabilities: np.ndarray, bins: int = 15, draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with these confidences would still show on this many
    clips: labels drawn from ``probabilities`` themselves, median over ``draws`` draws.

    Why: ECE is a sample estimate, biased upwards by the clips each bin holds (about 0.05 at 500
    clips), so a figure near it cannot tell calibration from noise."""
    probabilities = np.asarray(probabilities, np.float64)
    if len(probabilities) == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(probabilities / probabilities.sum(axis=1, keepdims=True), axis=1)
    errors = []
    for _ in range(draws):
        u = rng.random((len(probabilities), 1))
        y = np.minimum((u > cumulative).sum(axis=1), probabilities.shape[1] - 1)
        errors.append(expected_calibration_error(probabilities, y, bins))
    return float(np.median(errors))
