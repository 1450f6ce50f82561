"""Classification and regression metrics (numpy only, so the package needs no scikit-learn)."""

from __future__ import annotations

import numpy as np

__all__ = ["confusion", "classification_metrics", "pearson"]


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def classification_metrics(y_true, y_pred, classes: list[int]) -> dict:
    """UA (mean recall over the classes present), WA (accuracy), macro-F1, weighted F1, confusion."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = max(classes) + 1
    cm = confusion(y_true, y_pred, max(n, int(y_pred.max(initial=0)) + 1))
    recalls, f1s, supports = [], [], []
    for c in classes:
        tp = cm[c, c]
        support = cm[c].sum()
        predicted = cm[:, c].sum()
        recall = tp / support if support else 0.0
        precision = tp / predicted if predicted else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        recalls.append(recall)
        f1s.append(f1)
        supports.append(support)
    supports = np.array(supports)
    return {
        "ua": float(np.mean(recalls)),
        "wa": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "macro_f1": float(np.mean(f1s)),
        "weighted_f1": float(np.average(f1s, weights=supports)) if supports.sum() else 0.0,
        "confusion": cm[np.ix_(classes, classes)].tolist(),
        "n": int(len(y_true)),
    }


def pearson(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
