"""Classification metrics from predicted and true class indices: the numbers every 3D FER paper reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return counts


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (over classes present in y_true or y_pred), per-class precision/recall/F1/support,
    and the confusion matrix. An undefined precision or recall (0/0) counts as 0, as scikit-learn does."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise ValueError("no samples to score")
    counts = confusion_matrix(y_true, y_pred, len(labels))
    true_positive = np.diag(counts).astype(float)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    present = (predicted + actual) > 0
    return {
        "num_samples": int(len(y_true)),
        "accuracy": float(true_positive.sum() / len(y_true)),
        "macro_f1": float(f1[present].mean()),
        "per_class": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(actual[i])}
            for i, label in enumerate(labels)
        },
        "confusion_matrix": counts.tolist(),
    }


def mean_std(values: Sequence[float], ddof: int = 0) -> dict[str, float]:
    """Mean and standard deviation: over folds the population's (ddof 0: std 0 for a single fold); over
    seeds, samples of a run-to-run spread, the sample's (ddof 1; std 0 for a single seed)."""
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=ddof)) if len(array) > ddof else 0.0}
