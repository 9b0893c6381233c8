"""Build an AffectVLM model card: hub_card/'s Jinja template and default metadata, filled from the model folder,
the training summary and the evaluation results, so that no number on the card is typed by hand."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .model_facts import ModelFacts, format_count, read_model_facts
from .records import dataset_title

logger = logging.getLogger(__name__)

TEMPLATE_NAME = "modelcard_template.md"
METADATA_NAME = "metadata.yaml"
NOT_RECORDED = "not recorded"
HUB_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def find_card_dir(card_dir: str | Path | None = None) -> Path:
    """hub_card/ (template + default metadata): the given folder, else the one at the root of this checkout.

    It is not package data: publishing runs from a checkout (scripts/push_to_hub.py is not installed either).
    """
    folder = Path(card_dir) if card_dir is not None else Path(__file__).resolve().parents[2] / "hub_card"
    for name in (TEMPLATE_NAME, METADATA_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"no {name} in {folder}: run from a checkout of the AffectVLM repository or pass the hub_card folder")
    return folder


@dataclass(frozen=True)
class CardInputs:
    """Everything a model card is built from besides the model folder: no number on the card comes from elsewhere.

    model_id: what users pass to from_pretrained (the Hub repo id, or a local path for a bundled model).
    model_name: the card's title and model-index name; default: the last part of `model_id`.
    results: evaluation results records (records.load_results); each gives a model-index entry and tables.
    training_summary: the trainer's training_summary.json (records.load_training_summary), if any.
    heldout: scripts/evaluate_heldout.py's heldout_results.json, if any: the model beside the baselines.
    temporal: scripts/train_temporal_head.py's temporal_results.json, if any: the temporal head beside mean
        pooling, a frame vote and the best single frame.
    card_dir: the template folder (default: hub_card/ of this checkout).
    """

    model_id: str
    model_name: str | None = None
    results: Sequence[dict[str, Any]] = ()
    training_summary: dict[str, Any] | None = None
    heldout: dict[str, Any] | None = None
    card_dir: str | Path | None = None
    temporal: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.model_name or self.model_id.rstrip("/").split("/")[-1]


def build_model_card(model_dir: str | Path, inputs: CardInputs) -> ModelCard:
    """The card of the model saved in `model_dir`."""
    card_dir = find_card_dir(inputs.card_dir)
    facts = read_model_facts(model_dir)
    name, results, training_summary = inputs.name, list(inputs.results), inputs.training_summary
    metadata = yaml.safe_load((card_dir / METADATA_NAME).read_text())
    for result in results:
        if list(result["labels"]) != facts.labels:
            logger.warning("results for %s use labels %s; the model's are %s",
                           dataset_title(result["dataset"]), result["labels"], facts.labels)
    card_data = ModelCardData(
        **metadata,
        model_name=name,
        base_model=_hub_base_model(training_summary),
        datasets=_training_datasets(training_summary),
        eval_results=[entry for result in results for entry in eval_results(result, metadata["pipeline_tag"])]
        or None,
    )
    training_dataset = (training_summary or {}).get("dataset")
    return ModelCard.from_template(
        card_data,
        template_path=str(card_dir / TEMPLATE_NAME),
        title=name,
        model_id=inputs.model_id,
        facts=facts,
        parameters=format_count(facts.num_parameters),
        views=", ".join(_describe_view(view) for view in facts.views),
        training_rows=training_rows(training_summary, facts) if training_summary else None,
        synthetic_training=bool(training_dataset and training_dataset.get("synthetic")),
        evaluations=[evaluation_tables(result) for result in results],
        synthetic_evaluation=any(result["dataset"].get("synthetic") for result in results),
        heldout=heldout_tables(inputs.heldout) if inputs.heldout else None,
        temporal=temporal_tables(inputs.temporal) if inputs.temporal else None,
    )


def _interval(bounds: Sequence[float]) -> str:
    return "–".join(percent(bound) for bound in bounds)


def _on_the_same_faces(scores: dict[str, Any] | None) -> str:
    """A baseline row's comparison: the model's accuracy on exactly the faces that baseline scored."""
    return "–" if scores is None else f"{percent(scores['accuracy'])} ({_interval(scores['accuracy_95ci'])})"


def heldout_tables(report: dict[str, Any]) -> dict[str, Any]:
    """Rows of the held-out section: each scorer's accuracy with its interval, then accuracy per group."""
    scorers = {"model": report["model_scores"], **{name.removeprefix("baseline_") + " baseline": scores
                                                  for name, scores in report.items() if name.startswith("baseline_")}}
    rows = [{"name": name, "faces": scores["num_samples"], "accuracy": percent(scores["accuracy"]),
             "interval": _interval(scores["accuracy_95ci"]),
             "model_on_the_same_faces": _on_the_same_faces(scores.get("model_on_the_same_faces"))}
            for name, scores in scorers.items()]
    groups = []
    for group in ("format", "crop", "recipe_split", "label"):
        for value, entry in report["model_scores"][f"by_{group}"].items():
            cells = [percent(scores[f"by_{group}"][value]["accuracy"]) if value in scores[f"by_{group}"] else "–"
                     for scores in scorers.values()]
            groups.append({"group": group.replace("_", " "), "value": value, "faces": entry["num_samples"],
                           "cells": cells})
    six = report["model_scores"].get("six_class_accuracy")
    return {"rows": rows, "groups": groups, "scorers": list(scorers), "command": report.get("command", ""),
            "six_class": percent(six) if six is not None else None}


def temporal_tables(report: dict[str, Any]) -> dict[str, Any]:
    """Rows of the 4D section: each way of reading a sequence, its accuracy (mean +- std over seeds) on whole
    sequences and on their first halves."""
    summary = report["summary"]
    parts = list(summary)
    rows = [{"method": method, "cells": [percent_mean_std(summary[part][method]) for part in parts]}
            for method in summary[parts[0]]]
    return {"parts": parts, "rows": rows, "command": report.get("command", ""), "sequences": report["num_sequences"],
            "subjects": report["num_subjects"], "folds": report["folds"], "seeds": len(report["per_seed"]),
            "frames": report["frames_per_sequence"], "num_frames": report["num_frames"],
            "head": report["head"]}


def eval_results(result: dict[str, Any], task_type: str) -> list[EvalResult]:
    """model-index entries of one results record: accuracy and macro-F1 (means over folds), and the 4D
    sequence-level accuracy when recorded."""
    dataset = result["dataset"]
    folds = result["summary"]["num_folds"]
    task_name = f"{result['task'].upper()} facial expression recognition"
    if result["zero_shot"]:
        task_name += " (zero-shot)"
    common = {
        "task_type": task_type,
        "task_name": task_name,
        "dataset_type": _slug(dataset_title(dataset)),
        "dataset_name": dataset_title(dataset),
        "dataset_split": dataset.get("protocol"),
    }
    summary = result["summary"]
    accuracy = "Frame accuracy" if result.get("sequence") else "Accuracy"
    entries = [
        EvalResult(**common, metric_type="accuracy", metric_value=summary["accuracy"]["mean"],
                   metric_name=f"{accuracy} (mean of {_folds(folds)})"),
        EvalResult(**common, metric_type="f1", metric_config="macro", metric_value=summary["macro_f1"]["mean"],
                   metric_name=f"Macro-F1 (mean of {_folds(folds)})"),
    ]
    if result.get("sequence"):
        entries.append(EvalResult(**common, metric_type="accuracy",
                                  metric_value=result["sequence"]["sequence_accuracy"]["mean"],
                                  metric_name=f"Sequence accuracy (mean of {_folds(folds)})"))
    return entries


def evaluation_tables(result: dict[str, Any]) -> dict[str, Any]:
    """One results record as the template's table rows, every number formatted as a percentage here."""
    labels, folds, summary = result["labels"], result["folds"], result["summary"]
    per_class = []
    for label in labels:
        scores = [fold["per_class"][label] for fold in folds]
        means = {field: percent(sum(score[field] for score in scores) / len(scores))
                 for field in ("precision", "recall", "f1")}
        per_class.append({"label": label, **means, "support": sum(int(score["support"]) for score in scores)})
    size = range(len(labels))
    confusion = [[sum(int(fold["confusion_matrix"][true][predicted]) for fold in folds) for predicted in size]
                 for true in size]
    sequence = result.get("sequence")
    return {
        "title": dataset_title(result["dataset"]),
        "task": result["task"].upper(),
        "zero_shot": result["zero_shot"],
        "protocol": result["dataset"].get("protocol") or NOT_RECORDED,
        "synthetic": bool(result["dataset"].get("synthetic")),
        "command": result["command"],
        "labels": labels,
        "fold_rows": [{"fold": fold["fold"], "num_samples": fold["num_samples"], "accuracy": percent(fold["accuracy"]),
                       "macro_f1": percent(fold["macro_f1"])} for fold in folds],
        "num_samples": sum(fold["num_samples"] for fold in folds),
        "mean_accuracy": percent_mean_std(summary["accuracy"]),
        "mean_macro_f1": percent_mean_std(summary["macro_f1"]),
        "per_class_rows": per_class,
        "confusion_rows": [{"label": label, "counts": row} for label, row in zip(labels, confusion)],
        "sequence_rows": [
            {"level": "frame", "accuracy": percent_mean_std(sequence["frame_accuracy"])},
            {"level": "sequence", "accuracy": percent_mean_std(sequence["sequence_accuracy"])},
        ] if sequence else [],
    }


def training_rows(summary: dict[str, Any], facts: ModelFacts) -> list[tuple[str, str]]:
    """(what, value) rows of the training table; a missing field reads "not recorded", never a guess."""
    dataset = summary.get("dataset")
    if dataset:
        data = dataset_title(dataset) + "".join(
            f", {key} `{dataset[key]}`" for key in ("protocol", "layout") if dataset.get(key))
    else:
        data = NOT_RECORDED
    base = _base_model_row(summary)
    loss_weights = summary.get("loss_weights") or facts.loss_weights
    wall = summary.get("wall_time_s")
    return [
        *([("Data made by", f"`{summary['data_command']}`")] if summary.get("data_command") else []),
        ("Command", f"`{summary['command']}`" if summary.get("command") else NOT_RECORDED),
        ("Training data", data),
        ("Cross-validation fold held out", _recorded(summary.get("fold"), "fold" in summary, "none")),
        ("Base model", base),
        ("Steps", _recorded(summary.get("steps"))),
        ("Epochs", _recorded(summary.get("epochs"))),
        ("Batch size", _recorded(summary.get("batch_size"))),
        ("Learning rate", _recorded(summary.get("learning_rate"))),
        ("Loss weights", ", ".join(f"{term} {weight:g}" for term, weight in loss_weights.items())),
        ("Seed", _recorded(summary.get("seed"))),
        ("Wall time", f"{wall / 60:.1f} min" if wall is not None else NOT_RECORDED),
        ("Hardware", _recorded(summary.get("hardware"))),
    ]


def percent(fraction: float) -> str:
    """0.85417 -> "85.42": the tables' unit is percent, with two decimals."""
    return f"{100 * fraction:.2f}"


def percent_mean_std(value: dict[str, float]) -> str:
    return f"{percent(value['mean'])} ± {percent(value['std'])}"


def _describe_view(view: dict[str, Any]) -> str:
    """{"name": "left", "yaw": 30, "pitch": 0} -> "left (yaw +30°)"."""
    angles = [f"{angle} {float(view[angle]):+g}°" for angle in ("yaw", "pitch") if float(view.get(angle, 0))]
    return f"{view['name']} ({', '.join(angles)})" if angles else view["name"]


def _recorded(value: Any, present: bool = False, null: str = NOT_RECORDED) -> str:
    """The value as text; `null` when the field is present but null (e.g. no fold: all data); else "not recorded"."""
    if value is not None:
        return str(value)
    return null if present else NOT_RECORDED


def _folds(count: int) -> str:
    return "1 fold" if count == 1 else f"{count} folds"


def _base_model_row(summary: dict[str, Any]) -> str:
    """What the training started from; a local path is said to be one, so that a reader of the published card
    does not look for it on the Hub."""
    if "base_model" not in summary:
        return NOT_RECORDED
    base = summary["base_model"]
    if not base:
        return "none: both towers trained from random initialisation"
    return base if _hub_base_model(summary) else f"`{base}`: a local checkpoint of an earlier run, not on the Hub"


def _hub_base_model(summary: dict[str, Any] | None) -> str | None:
    """The base model for the metadata only when it is a Hub id: the Hub rejects a local path there (the
    training table still shows it)."""
    base = (summary or {}).get("base_model")
    return base if base and HUB_REPO_ID.fullmatch(base) else None


def _training_datasets(summary: dict[str, Any] | None) -> list[str] | None:
    """The `datasets` metadata lists real training data only: a model trained on synthetic BU-3DFE-like faces
    was not trained on BU-3DFE."""
    dataset = (summary or {}).get("dataset")
    if not dataset or dataset.get("synthetic"):
        return None
    return [dataset["name"]]


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())
