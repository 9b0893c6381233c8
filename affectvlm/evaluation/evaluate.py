"""Score saved models on the test folds of a protocol: per-fold metrics, mean +- std, plots, one results JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..data.protocols import get_protocol
from .metrics import classification_metrics, mean_std
from .plots import plot_confusion_matrix
from .report import dataset_entry, fold_results

logger = logging.getLogger(__name__)


def load_class_prompts(path: str) -> dict[str, list[str]]:
    """A JSON file {label: [prompt, ...]} for zero-shot scoring: each of the dataset's labels (its keys) is
    scored by the mean embedding of its prompts instead of the model's own class prompts."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not data or not all(
        isinstance(prompts, list) and prompts and all(isinstance(p, str) for p in prompts) for prompts in data.values()
    ):
        raise ValueError(f"{path}: expected a JSON object mapping each label to a non-empty list of prompts")
    return data


@torch.no_grad()
def class_embeddings(model: Any, processor: Any, class_prompts: dict[str, list[str]] | None) -> torch.Tensor:
    """One unit-norm embedding per class: the model's own prompts, or the mean over each label's given prompts."""
    if class_prompts is None:
        return model.get_class_embeddings()
    return model.get_class_embeddings(**processor.zero_shot_inputs(class_prompts))


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


def evaluate_folds(
    model_path: str,
    data_dir: str,
    layout: str,
    folds: Sequence[int],
    protocol: str | None = None,
    cache_dir: str | None = None,
    class_prompts: dict[str, list[str]] | None = None,
    batch_size: int = 64,
    output_dir: str | Path | None = None,
    synthetic: bool | None = None,
    command: str = "",
    protocol_overrides: dict[str, Any] | None = None,
    on_error: str = "raise",
    num_frames: int = 8,
) -> dict[str, Any]:
    """Evaluate `model_path` (may contain "{fold}": one model per fold) on each fold's test subjects.

    class_prompts: {label: [prompts]} scores zero-shot against these instead of the model's own classes.
    synthetic: marks the data as synthetic in the results (None: detected from the writer's record).
    For sequence protocols (4D) `num_frames` frames per sequence are scored: the sequence as a whole (the
    fold metrics), each frame against the sequence's label, and a majority vote over the frames.
    """
    import affectvlm
    from transformers import AutoModel, AutoProcessor

    from ..data.cache import RenderSettings, render_split
    from ..data.loading import scan_dataset
    from ..synthetic.output import is_synthetic
    from ..training.config import DEFAULT_CACHE
    from ..training.data import RenderedFaces, RenderedSequences

    del affectvlm  # imported for its Auto-class registration
    if "{fold}" not in model_path and len(folds) > 1 and class_prompts is None:
        logger.warning("one model for %d folds: unless it never saw these subjects, test scores are optimistic", len(folds))
    samples = list(scan_dataset(data_dir, layout, on_error=on_error))
    protocol_obj = get_protocol(protocol or layout, **(protocol_overrides or {}))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    fold_metrics, labels, sequence_scores = [], None, []
    for fold in folds:
        path = fold_model_path(model_path, fold)
        model = AutoModel.from_pretrained(path).to(device).eval()
        processor = AutoProcessor.from_pretrained(path)
        labels = list(class_prompts or model.config.emotion_labels)
        classes = class_embeddings(model, processor, class_prompts)
        # the same cache as training: the whole protocol's faces, of which this fold's test subjects are used
        rendered = render_split(protocol_obj.split(samples, fold), RenderSettings.from_processor(processor),
                                cache_dir or DEFAULT_CACHE, layout, on_error=on_error)["test"]
        common = (rendered, labels, processor)
        dataset = RenderedSequences(*common, num_frames=num_frames) if protocol_obj.sequences else RenderedFaces(*common)
        truth, predictions, frame_predictions = [], [], []
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                items = [dataset[index] for index in range(start, min(start + batch_size, len(dataset)))]
                output = model(pixel_values=torch.stack([item["pixel_values"] for item in items]).to(device))
                predictions += model.class_logits(output.face_embeds, classes).argmax(dim=-1).tolist()
                if output.frame_embeds is not None:
                    frame_predictions += model.class_logits(output.frame_embeds, classes).argmax(dim=-1).tolist()
                truth += [item["label"] for item in items]
        metrics = {"fold": fold, **classification_metrics(truth, predictions, labels)}
        if frame_predictions:
            sequence_scores.append(_sequence_scores(truth, predictions, frame_predictions))
        logger.info("fold %d: accuracy %.3f, macro-F1 %.3f on %d faces", fold, metrics["accuracy"],
                    metrics["macro_f1"], metrics["num_samples"])
        fold_metrics.append(metrics)
        if output_dir is not None:
            plot_confusion_matrix(metrics["confusion_matrix"], labels, Path(output_dir) / f"confusion_fold{fold}.png",
                                  title=f"fold {fold}: accuracy {metrics['accuracy']:.1%}")
    synthetic = is_synthetic(data_dir) if synthetic is None else synthetic
    dataset_info = dataset_entry(layout, protocol_obj.name, str(data_dir), synthetic)
    sequence = None
    if sequence_scores:
        sequence = {name: mean_std([scores[name] for scores in sequence_scores]) for name in sequence_scores[0]}
        sequence["num_frames"] = num_frames
    results = fold_results(fold_metrics, labels, model=model_path, dataset=dataset_info, command=command,
                           zero_shot=class_prompts is not None, task="4d" if sequence else "3d", sequence=sequence)
    if output_dir is not None:
        total = [[sum(f["confusion_matrix"][i][j] for f in fold_metrics) for j in range(len(labels))]
                 for i in range(len(labels))]
        summary = results["summary"]["accuracy"]
        plot_confusion_matrix(total, labels, Path(output_dir) / "confusion_all_folds.png",
                              title=f"{len(folds)} fold(s): accuracy {summary['mean']:.1%} ± {summary['std']:.1%}")
        (Path(output_dir) / "results.json").write_text(json.dumps(results, indent=2))
    return results
