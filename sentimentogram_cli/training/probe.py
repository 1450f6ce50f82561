"""Which encoder layers carry emotion: a linear probe on pooled frames, per candidate layer set.

Why a probe: training a full head per candidate and per left-out corpus costs hours on two CPU
cores; a softmax regression on each clip's mean and standard deviation of frames costs seconds,
and ranks feature sets the way the heads do (the SUPERB practice of probing frozen layers). It is
scored on the validation speakers and by leave-one-corpus-out, never on the test actors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .data import TrainingData
from .metrics import classification_metrics

__all__ = ["pooled_clip_features", "probe_accuracy", "probe_ua"]


def pooled_clip_features(data: TrainingData) -> np.ndarray:
    """(clips, 2 · frame dim): each clip's mean and standard deviation over its frames, all cached layers."""
    width = data.frames.data.shape[1]
    out = np.zeros((len(data.clips), 2 * width), np.float32)
    for i in range(len(data.clips)):
        frames = np.asarray(data.frames[i], np.float32)
        out[i, :width] = frames.mean(axis=0)
        out[i, width:] = frames.std(axis=0)
    return out


def _fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float) -> torch.Tensor:
    """Class-balanced multinomial logistic regression (L-BFGS); returns (features + 1, classes) weights."""
    xt = torch.from_numpy(np.hstack([x, np.ones((len(x), 1), np.float32)]))
    yt = torch.from_numpy(y)
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    weight = torch.from_numpy(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 0.0).astype(np.float32))
    w = torch.zeros(xt.shape[1], n_classes, requires_grad=True)
    optimiser = torch.optim.LBFGS([w], lr=1.0, max_iter=30, max_eval=45, history_size=10, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(xt @ w, yt, weight=weight) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return w.detach()


def _balanced_sample(indices: np.ndarray, y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """At most ``per_class`` clips of each label (seeded): the probe's cost stays small."""
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(indices[y[indices] == c])[:per_class] for c in np.unique(y[indices])]
    return np.sort(np.concatenate(picked))


def probe_accuracy(data: TrainingData, pooled: np.ndarray, layers: tuple[int, ...], train: list[int],
                   test: list[int], l2: float = 1e-3, max_per_class: int = 600) -> float:
    """UA on ``test`` of a probe trained on a class-balanced sample of ``train``, reading only
    ``layers``; the argmax is over the labels the test clips have (as ``evaluate`` scores)."""
    columns = data.layer_columns(layers)
    width = data.frames.data.shape[1]
    x = pooled[:, np.concatenate([columns, columns + width])]
    labels = data.labels
    y = np.array([labels.index(c.label) for c in data.clips])
    standardise_on = np.asarray(train)
    train = _balanced_sample(np.asarray(train), y, max_per_class)
    return probe_ua(x[train], y[train], x[test], y[test], len(labels), l2, standardise_on=x[standardise_on])


def probe_ua(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, n_classes: int,
             l2: float = 1e-3, standardise_on: np.ndarray | None = None) -> float:
    """UA on the test rows of a probe fitted on the training rows (features standardised on
    ``standardise_on``, default the training rows); argmax over the labels the test rows have."""
    basis = x_train if standardise_on is None else standardise_on
    mean, std = basis.mean(axis=0), basis.std(axis=0) + 1e-5
    w = _fit_softmax(((x_train - mean) / std).astype(np.float32), y_train, n_classes, l2)
    x = ((x_test - mean) / std).astype(np.float32)
    logits = (torch.from_numpy(np.hstack([x, np.ones((len(x), 1), np.float32)])) @ w).numpy()
    present = sorted(set(np.asarray(y_test).tolist()))
    restricted = np.full(logits.shape, -np.inf, np.float32)
    restricted[:, present] = logits[:, present]
    return classification_metrics(y_test, restricted.argmax(axis=1), present)["ua"]


def probe_table(data: TrainingData, candidates: dict[str, tuple[int, ...]], validation: list[int],
                train_pool: list[int], corpora: tuple[str, ...], keep_test: Callable[[int], bool]) -> dict:
    """Validation UA and leave-one-corpus-out UA of a probe for each candidate layer set."""
    pooled = pooled_clip_features(data)
    results = {}
    for name, layers in candidates.items():
        row = {"validation_ua": probe_accuracy(data, pooled, layers, train_pool, validation), "loco": {}}
        for corpus in corpora:
            fit = [i for i in train_pool if data.clips[i].corpus != corpus]
            test = [i for i, c in enumerate(data.clips) if c.corpus == corpus and keep_test(i)]
            row["loco"][corpus] = probe_accuracy(data, pooled, layers, fit, test)
        row["loco_mean"] = float(np.mean(list(row["loco"].values())))
        results[name] = row
    return results
