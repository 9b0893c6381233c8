"""Read and check the evaluation results and training summary JSONs that a model card is built from.

A card states numbers about a model in public: a malformed or inconsistent file must stop the build with the
file and the field named, not produce a card with holes or wrong tables.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MEAN_STD = ("mean", "std")
PER_CLASS_FIELDS = ("precision", "recall", "f1", "support")


class RecordError(ValueError):
    """A results or training summary file that does not follow its schema."""


def load_results(path: str | Path) -> dict[str, Any]:
    """An evaluation results JSON (as scripts/evaluate.py writes it), checked against the schema."""
    path = Path(path)
    record = _read_json(path)
    _check_results(record, str(path))
    return record


def load_training_summary(path: str | Path) -> dict[str, Any]:
    """A training_summary.json. Every field is optional (the card says "not recorded"); present ones are checked."""
    path = Path(path)
    record = _read_json(path)
    numbers = {"steps": int, "epochs": (int, float), "batch_size": int, "learning_rate": (int, float),
               "seed": int, "wall_time_s": (int, float)}
    for key, kind in numbers.items():
        if record.get(key) is not None:
            _expect(record, key, kind, str(path))
    for key in ("command", "hardware", "base_model"):
        if record.get(key) is not None:
            _expect(record, key, str, str(path))
    if record.get("fold") is not None:
        _expect(record, "fold", int, str(path))
    if record.get("loss_weights") is not None:
        _expect(record, "loss_weights", dict, str(path))
    if record.get("dataset") is not None:
        _check_dataset(record["dataset"], f"{path}: dataset")
    return record


def without_local_paths(record: dict[str, Any]) -> dict[str, Any]:
    """A copy fit to publish: the dataset's local root (a path on the maintainer's disk) removed."""
    public = json.loads(json.dumps(record))
    if isinstance(public.get("dataset"), dict):
        public["dataset"].pop("root", None)
    return public


def dataset_title(dataset: dict[str, Any]) -> str:
    """The dataset's name, with " (synthetic)" when its faces were synthesised: never mistaken for the real data."""
    return f"{dataset['name']} (synthetic)" if dataset.get("synthetic") else dataset["name"]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordError(f"{path}: no such file") from None
    except json.JSONDecodeError as error:
        raise RecordError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise RecordError(f"{path}: expected a JSON object, got {type(record).__name__}")
    return record


def _check_results(record: dict[str, Any], where: str) -> None:
    _expect(record, "model", str, where)
    _expect(record, "task", str, where)
    if record["task"] not in ("3d", "4d"):
        raise RecordError(f"{where}: task must be '3d' or '4d', got {record['task']!r}")
    _expect(record, "zero_shot", bool, where)
    _expect(record, "command", str, where)
    _check_dataset(_expect(record, "dataset", dict, where), f"{where}: dataset")
    labels = _expect(record, "labels", list, where)
    if len(labels) < 2 or not all(isinstance(label, str) for label in labels):
        raise RecordError(f"{where}: labels must be a list of at least two names, got {labels!r}")
    folds = _expect(record, "folds", list, where)
    if not folds:
        raise RecordError(f"{where}: folds is empty")
    for index, fold in enumerate(folds):
        _check_fold(fold, labels, f"{where}: folds[{index}]")
    summary = _expect(record, "summary", dict, where)
    for metric in ("accuracy", "macro_f1"):
        _check_mean_std(_expect(summary, metric, dict, f"{where}: summary"), f"{where}: summary.{metric}")
    if _expect(summary, "num_folds", int, f"{where}: summary") != len(folds):
        raise RecordError(f"{where}: summary.num_folds is {summary['num_folds']} but {len(folds)} folds are listed")
    if record.get("sequence") is not None:
        sequence = _expect(record, "sequence", dict, where)
        for metric in ("frame_accuracy", "sequence_accuracy"):
            _check_mean_std(_expect(sequence, metric, dict, f"{where}: sequence"), f"{where}: sequence.{metric}")
    for metric in ("accuracy", "macro_f1"):
        fold_mean = sum(fold[metric] for fold in folds) / len(folds)
        if not math.isclose(fold_mean, summary[metric]["mean"], abs_tol=1e-3):
            logger.warning("%s: summary.%s.mean %.4f is not the mean of its folds (%.4f)",
                           where, metric, summary[metric]["mean"], fold_mean)


def _check_dataset(dataset: Any, where: str) -> None:
    if not isinstance(dataset, dict):
        raise RecordError(f"{where}: expected an object, got {type(dataset).__name__}")
    _expect(dataset, "name", str, where)
    if "synthetic" in dataset:
        _expect(dataset, "synthetic", bool, where)
    for key in ("layout", "protocol"):
        if dataset.get(key) is not None:
            _expect(dataset, key, str, where)


def _check_fold(fold: Any, labels: list[str], where: str) -> None:
    if not isinstance(fold, dict):
        raise RecordError(f"{where}: expected an object, got {type(fold).__name__}")
    _expect(fold, "fold", int, where)
    _expect(fold, "num_samples", int, where)
    for metric in ("accuracy", "macro_f1"):
        _check_fraction(_expect(fold, metric, (int, float), where), f"{where}.{metric}")
    per_class = _expect(fold, "per_class", dict, where)
    if set(per_class) != set(labels):
        raise RecordError(f"{where}: per_class names {sorted(per_class)} but labels are {labels}")
    for label, scores in per_class.items():
        for field in PER_CLASS_FIELDS:
            value = _expect(scores, field, (int, float), f"{where}.per_class.{label}")
            if field != "support":
                _check_fraction(value, f"{where}.per_class.{label}.{field}")
    matrix = _expect(fold, "confusion_matrix", list, where)
    if len(matrix) != len(labels) or any(not isinstance(row, list) or len(row) != len(labels) for row in matrix):
        raise RecordError(f"{where}: confusion_matrix must be {len(labels)} x {len(labels)} (labels x labels)")


def _check_mean_std(value: dict[str, Any], where: str) -> None:
    for key in MEAN_STD:
        _check_fraction(_expect(value, key, (int, float), where), f"{where}.{key}")


def _check_fraction(value: float, where: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise RecordError(f"{where} must be a fraction in [0, 1], got {value}")


def _expect(mapping: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in mapping:
        raise RecordError(f"{where}: missing field {key!r}")
    value = mapping[key]
    # bool is an int in Python: a true/false where a number belongs is a schema error, not the number 1
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RecordError(f"{where}: field {key!r} must be {expected}, got {value!r}")
    return value
