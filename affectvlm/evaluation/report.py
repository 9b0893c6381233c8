"""The results JSON that `scripts/evaluate.py` writes and the model card reads.

Schema: {"model", "task" ("3d"|"4d"), "zero_shot", "command", "dataset": {name, synthetic, layout, protocol,
root}, "labels", "folds": [{fold, num_samples, accuracy, macro_f1, per_class, confusion_matrix}],
"summary": {accuracy: {mean, std}, macro_f1: {mean, std}, num_folds}, optional "sequence"}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .metrics import mean_std

DATASET_NAMES = {"bu3dfe": "BU-3DFE", "bu4dfe": "BU-4DFE", "bosphorus": "Bosphorus", "bp4d": "BP4D-Spontaneous",
                 "bp4d+": "BP4D+", "folder": "folder"}
FOLD_KEYS = ("fold", "num_samples", "accuracy", "macro_f1", "per_class", "confusion_matrix")


def dataset_entry(layout: str, protocol: str, root: str, synthetic: bool) -> dict[str, Any]:
    return {"name": DATASET_NAMES.get(layout, layout), "synthetic": synthetic, "layout": layout,
            "protocol": protocol, "root": root}


@dataclass(frozen=True)
class ResultsSource:
    """What was scored, on what, by which command: the header of a results document."""

    model: str
    dataset: dict[str, Any]  # a `dataset_entry`, or at least {"layout": ...}
    command: str
    zero_shot: bool = False


def fold_results(folds: Sequence[dict[str, Any]], labels: Sequence[str], source: ResultsSource,
                 sequence: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per-fold metrics (from `classification_metrics` plus "fold") -> the full results document; with
    `sequence` (the 4D frame and voting scores) the task is "4d"."""
    if not folds:
        raise ValueError("no folds to report")
    missing = [key for key in FOLD_KEYS if key not in folds[0]]
    if missing:
        raise ValueError(f"fold entries lack {missing}")
    dataset = source.dataset
    if "name" not in dataset:
        dataset = dataset_entry(dataset["layout"], dataset.get("protocol", dataset["layout"]), dataset.get("root", ""),
                                dataset.get("synthetic", False))
    results = {
        "model": source.model,
        "task": "3d" if sequence is None else "4d",
        "zero_shot": source.zero_shot,
        "command": source.command,
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
