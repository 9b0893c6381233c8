"""The results JSON that `scripts/evaluate.py` writes and the model card reads.

Schema: {"model", "task" ("3d"|"4d"), "zero_shot", "command", "dataset": {name, synthetic, layout, protocol,
root}, "labels", "folds": [{fold, num_samples, accuracy, macro_f1, per_class, confusion_matrix}],
"summary": {accuracy: {mean, std}, macro_f1: {mean, std}, num_folds}, optional "sequence"}.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .metrics import mean_std

DATASET_NAMES = {"bu3dfe": "BU-3DFE", "bu4dfe": "BU-4DFE", "bosphorus": "Bosphorus", "bp4d": "BP4D-Spontaneous",
                 "bp4d+": "BP4D+", "folder": "folder"}
FOLD_KEYS = ("fold", "num_samples", "accuracy", "macro_f1", "per_class", "confusion_matrix")


def dataset_entry(layout: str, protocol: str, root: str, synthetic: bool) -> dict[str, Any]:
    return {"name": DATASET_NAMES.get(layout, layout), "synthetic": synthetic, "layout": layout,
            "protocol": protocol, "root": root}


def fold_results(
    folds: Sequence[dict[str, Any]],
    labels: Sequence[str],
    model: str,
    dataset: dict[str, Any],
    command: str,
    task: str = "3d",
    zero_shot: bool = False,
    sequence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per-fold metrics (from `classification_metrics` plus "fold") -> the full results document."""
    if not folds:
        raise ValueError("no folds to report")
    missing = [key for key in FOLD_KEYS if key not in folds[0]]
    if missing:
        raise ValueError(f"fold entries lack {missing}")
    if "name" not in dataset:
        dataset = dataset_entry(dataset["layout"], dataset.get("protocol", dataset["layout"]), dataset.get("root", ""),
                                dataset.get("synthetic", False))
    results = {
        "model": model,
        "task": task,
        "zero_shot": zero_shot,
        "command": command,
        "dataset": dataset,
        "labels": list(labels),
        "folds": [{key: fold[key] for key in FOLD_KEYS} for fold in folds],
        "summary": {
            "accuracy": mean_std([fold["accuracy"] for fold in folds]),
            "macro_f1": mean_std([fold["macro_f1"] for fold in folds]),
            "num_folds": len(folds),
        },
    }
    if sequence is not None:
        results["sequence"] = sequence
    return results
