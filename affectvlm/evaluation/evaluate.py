"""Score saved models on the test (or validation) faces of a protocol's folds: per-fold metrics, mean +- std,
plots, one results JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data.protocols import Split, get_protocol
from .metrics import classification_metrics, mean_std
from .plots import plot_confusion_matrix
from .report import ResultsSource, dataset_entry, fold_results

logger = logging.getLogger(__name__)
PARTS = ("test", "validation")


def load_class_prompts(path: str) -> dict[str, list[str]]:
    """A JSON file {label: [prompt, ...]} for zero-shot scoring: each of the dataset's labels (its keys) is
    scored by the mean embedding of its prompts instead of the model's own class prompts."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not data or not all(
        isinstance(prompts, list) and prompts and all(isinstance(p, str) for p in prompts) for prompts in data.values()
    ):
        raise ValueError(f"{path}: expected a JSON object mapping each label to a non-empty list of prompts")
    return data


def _sequence_scores(truth: list[int], predictions: list[int], frame_predictions: list[list[int]]) -> dict[str, float]:
    """Sequence accuracy (the temporal model), frame accuracy (each frame against its sequence's label) and the
    accuracy of a majority vote over each sequence's frame predictions (ties: the lowest class index)."""
    frames = torch.tensor(frame_predictions)
    labels = torch.tensor(truth)
    votes = torch.stack([torch.bincount(row, minlength=int(frames.max()) + 1).argmax() for row in frames])
    return {
        "sequence_accuracy": float((torch.tensor(predictions) == labels).float().mean()),
        "frame_accuracy": float((frames == labels[:, None]).float().mean()),
        "voting_accuracy": float((votes == labels).float().mean()),
    }


def fold_model_path(template: str, fold: int) -> str:
    return template.replace("{fold}", str(fold))


@dataclass(frozen=True)
class FoldFaces:
    """Which faces each fold scores: the data, its protocol, and the part of each fold's split."""

    data_dir: str
    layout: str = "bu3dfe"
    protocol: str | None = None  # default: the layout's own
    protocol_overrides: Mapping[str, Any] = field(default_factory=dict)
    cache_dir: str | None = None  # default: the training cache
    on_error: str = "raise"
    part: str = "test"  # or "validation": the faces a training run of that fold chose its best model on
    num_frames: int = 8  # 4D: frames scored per sequence

    def get_protocol(self):
        return get_protocol(self.protocol or self.layout, **self.protocol_overrides)


@dataclass(frozen=True)
class EvaluationSettings:
    """How to score and what to write: class_prompts ({label: [prompts]}) scores zero-shot against these
    instead of the model's own classes; synthetic marks the data as synthetic in the results (None: detected
    from the writer's record); output_dir receives results.json and the confusion matrices."""

    class_prompts: Mapping[str, list[str]] | None = None
    batch_size: int = 64
    output_dir: str | Path | None = None
    synthetic: bool | None = None
    command: str = ""


@dataclass(frozen=True)
class _FoldScores:
    metrics: dict[str, Any]  # classification_metrics of the fold
    labels: list[str]
    sequence: dict[str, float] | None  # 4D: sequence, frame and voting accuracy


def evaluate_folds(model_path: str, folds: Sequence[int], faces: FoldFaces,
                   settings: EvaluationSettings = EvaluationSettings()) -> dict[str, Any]:
    """Evaluate `model_path` (may contain "{fold}": one model per fold) on each fold's test (or validation) faces.

    For sequence protocols (4D) `faces.num_frames` frames per sequence are scored: the sequence as a whole (the
    fold metrics), each frame against the sequence's label, and a majority vote over the frames.
    """
    from ..data.loading import scan_dataset
    from ..synthetic.output import is_synthetic

    if "{fold}" not in model_path and len(folds) > 1 and settings.class_prompts is None:
        logger.warning("one model for %d folds: unless it never saw these subjects, test scores are optimistic", len(folds))
    samples = list(scan_dataset(faces.data_dir, faces.layout, on_error=faces.on_error))
    _check_asked_labels(faces.protocol_overrides.get("labels", ()), samples, faces.data_dir)
    protocol = faces.get_protocol()
    scores = []
    for fold in folds:
        scores.append(_score_fold(fold_model_path(model_path, fold), protocol.split(samples, fold), faces, settings))
        logger.info("fold %d: accuracy %.3f, macro-F1 %.3f on %d faces", fold, scores[-1].metrics["accuracy"],
                    scores[-1].metrics["macro_f1"], scores[-1].metrics["num_samples"])
    _warn_unscored_classes(scores[-1].labels, protocol)
    synthetic = is_synthetic(faces.data_dir) if settings.synthetic is None else settings.synthetic
    source = ResultsSource(model=model_path, command=settings.command, zero_shot=settings.class_prompts is not None,
                           dataset=dataset_entry(faces.layout, protocol.name, str(faces.data_dir), synthetic))
    labels = scores[-1].labels
    results = fold_results([{"fold": fold, **score.metrics} for fold, score in zip(folds, scores)], labels, source,
                           sequence=_sequence_summary(scores, faces.num_frames))
    if settings.output_dir is not None:
        _write_outputs(results, Path(settings.output_dir))
    return results


def _check_asked_labels(asked: Sequence[str], samples: Sequence[Any], data_dir: str | Path) -> None:
    """A class asked for by name that no face has is a typo, not an empty class: refuse it rather than score
    the others as if it had been asked for."""
    present = {sample.label for sample in samples}
    missing = [label for label in asked if label not in present]
    if missing:
        raise ValueError(f"{data_dir}: no face is labelled {', '.join(map(repr, missing))} (the labels asked "
                         f"for); its faces' labels are {', '.join(sorted(present))}")


def _warn_unscored_classes(labels: Sequence[str], protocol: Any) -> None:
    """Say so when the model scores classes whose faces the protocol leaves out (a 7-class model on a 6-class
    protocol): the results then cover only the protocol's classes."""
    unscored = [label for label in labels if label not in protocol.labels]
    if unscored:
        logger.warning("the model also predicts %s, but protocol %r keeps only faces of %s: those classes' faces "
                       "are not scored (pass --labels to score them)", ", ".join(unscored), protocol.name,
                       ", ".join(protocol.labels))


def _score_fold(path: str, split: Split, faces: FoldFaces, settings: EvaluationSettings) -> _FoldScores:
    """One fold's model on its part of the split: metrics, and for 4D the frame and voting scores."""
    from ..bundled import load_pretrained

    model, processor = load_pretrained(path, "cuda" if torch.cuda.is_available() else "cpu")
    labels = list(settings.class_prompts or model.config.emotion_labels)
    dataset = _fold_dataset(split, processor, labels, faces)
    # the one scorer: the forward's logits, against the given classes or the model's own
    class_inputs = processor.zero_shot_inputs(dict(settings.class_prompts)) if settings.class_prompts else {}
    truth, predictions, frame_predictions = _predict(model, dataset, class_inputs, settings.batch_size)
    sequence = _sequence_scores(truth, predictions, frame_predictions) if frame_predictions else None
    return _FoldScores(classification_metrics(truth, predictions, labels), labels, sequence)


def _fold_dataset(split: Split, processor: Any, labels: list[str], faces: FoldFaces):
    """The chosen part of the split from the same cache as training (rendered there when missing)."""
    from ..data.cache import CacheBuild, RenderSettings, render_split
    from ..training.config import DEFAULT_CACHE
    from ..training.data import RenderedFaces, RenderedSequences

    if faces.part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {faces.part!r}")
    build = CacheBuild(faces.cache_dir or DEFAULT_CACHE, faces.layout, on_error=faces.on_error)
    rendered = render_split(split, RenderSettings.from_processor(processor), build)[faces.part]
    if not len(rendered):
        raise ValueError(f"this fold's split has no {faces.part} faces")
    if faces.get_protocol().sequences:
        return RenderedSequences(rendered, labels, processor, num_frames=faces.num_frames)
    return RenderedFaces(rendered, labels, processor)


@torch.no_grad()
def _predict(model: Any, dataset: Any, class_inputs: dict[str, Any],
             batch_size: int) -> tuple[list[int], list[int], list[list[int]]]:
    """True labels, predicted classes and (4D) each frame's predicted class, one forward per batch."""
    truth, predictions, frame_predictions = [], [], []
    for start in range(0, len(dataset), batch_size):
        items = [dataset[index] for index in range(start, min(start + batch_size, len(dataset)))]
        pixel_values = torch.stack([item["pixel_values"] for item in items]).to(model.device)
        output = model(pixel_values=pixel_values, **class_inputs)
        predictions += output.logits.argmax(dim=-1).tolist()
        if output.frame_logits is not None:
            frame_predictions += output.frame_logits.argmax(dim=-1).tolist()
        truth += [item["label"] for item in items]
    return truth, predictions, frame_predictions


def _sequence_summary(scores: Sequence[_FoldScores], num_frames: int) -> dict[str, Any] | None:
    """Mean +- std over folds of the 4D scores (None for 3D)."""
    folds = [score.sequence for score in scores if score.sequence is not None]
    if not folds:
        return None
    return {**{name: mean_std([fold[name] for fold in folds]) for name in folds[0]}, "num_frames": num_frames}


def _write_outputs(results: dict[str, Any], output_dir: Path) -> None:
    """A confusion matrix per fold and over all folds, and results.json."""
    labels, folds = results["labels"], results["folds"]
    for fold in folds:
        plot_confusion_matrix(fold["confusion_matrix"], labels, output_dir / f"confusion_fold{fold['fold']}.png",
                              title=f"fold {fold['fold']}: accuracy {fold['accuracy']:.1%}")
    total = [[sum(f["confusion_matrix"][i][j] for f in folds) for j in range(len(labels))] for i in range(len(labels))]
    summary = results["summary"]["accuracy"]
    plot_confusion_matrix(total, labels, output_dir / "confusion_all_folds.png",
                          title=f"{len(folds)} fold(s): accuracy {summary['mean']:.1%} ± {summary['std']:.1%}")
    (output_dir / "results.json").write_text(json.dumps(results, indent=2))
