"""Scoring during a run: the model's own predictions gathered from every process, the class centroids a
centroid-scored model is given from the training faces, and keeping the best model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..evaluation.metrics import classification_metrics
from .run import Run


@dataclass(frozen=True)
class Validation:
    loader: DataLoader  # the evaluation faces, prepared
    centroid_loader: DataLoader | None  # the unaugmented training faces, for a centroid-scored model
    name: str  # "validation", or "test" when the protocol has no validation set


@torch.no_grad()
def face_embeddings(model: Any, loader: DataLoader, accelerator: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Face embeddings and labels of every sample, gathered from all processes (padding dropped)."""
    model.eval()
    embeddings, labels = [], []
    for batch in loader:
        output = model(pixel_values=batch["pixel_values"])
        gathered = accelerator.gather_for_metrics((output.face_embeds.float(), batch["labels"]))
        embeddings.append(gathered[0].cpu())
        labels.append(gathered[1].cpu())
    return torch.cat(embeddings), torch.cat(labels)


def class_centroids(embeddings: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Unit-norm mean embedding per class (zero for a class without samples)."""
    sums = torch.zeros(num_classes, embeddings.shape[1]).index_add_(0, labels, embeddings)
    return torch.nn.functional.normalize(sums, dim=-1)


def store_class_centroids(model: Any, loader: DataLoader, accelerator: Any) -> None:
    """Set a centroid-scored model's classes from the training faces: saved with its weights, so the model
    that ships scores exactly as the one evaluated here."""
    unwrapped = accelerator.unwrap_model(model)
    embeddings, truth = face_embeddings(model, loader, accelerator)
    centroids = class_centroids(embeddings, truth, len(unwrapped.config.emotion_labels))
    unwrapped.set_class_centroids(centroids.to(unwrapped.class_centroids))


@torch.no_grad()
def evaluate(model: Any, loader: DataLoader, accelerator: Any, labels: list[str]) -> dict[str, Any]:
    """Metrics of the model's own predictions (its logits: the one scorer), gathered from all processes."""
    model.eval()
    truth, predictions = [], []
    for batch in loader:
        logits = model(pixel_values=batch["pixel_values"]).logits
        gathered = accelerator.gather_for_metrics((logits.argmax(dim=-1), batch["labels"]))
        predictions.append(gathered[0].cpu())
        truth.append(gathered[1].cpu())
    model.train()
    return classification_metrics(torch.cat(truth).tolist(), torch.cat(predictions).tolist(), labels)


def evaluate_and_keep_best(run: Run, validation: Validation) -> None:
    """Score the evaluation faces, log it, note the target step, and save the model to best/ when it improves."""
    if validation.centroid_loader is not None:
        store_class_centroids(run.model, validation.centroid_loader, run.accelerator)
    metrics = evaluate(run.model, validation.loader, run.accelerator, run.labels)
    progress, name = run.progress, validation.name
    run.log({"step": progress.step, "epoch": progress.epoch, f"{name}/accuracy": metrics["accuracy"],
             f"{name}/macro_f1": metrics["macro_f1"]})
    run.logger.info(f"step {progress.step}: {name} accuracy {metrics['accuracy']:.3f}, "
                    f"macro-F1 {metrics['macro_f1']:.3f}", main_process_only=True)
    target = run.config.target_accuracy
    if target is not None and progress.steps_to_target is None and metrics["accuracy"] >= target:
        progress.steps_to_target = progress.step
    if metrics["accuracy"] > progress.best_accuracy:
        progress.best_accuracy, progress.best_step = metrics["accuracy"], progress.step
        run.save_model(run.output / "best")
