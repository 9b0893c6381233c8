"""Score a model on the hard held-out faces next to the trivial baselines, in one run, on the same faces.

The baselines are fitted on faces of the model's own training set and their L2 strength chosen on a
validation set; the model is scored by its own scorer (`model(...).logits`: the stored prompt ensemble).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..bundled import load_pretrained
from ..data.loading import load_sample, scan_dataset
from ..model.faceness_affectvlm import NotAFaceError
from ..model.meshes_affectvlm import load_mesh
from ..model.processing_affectvlm import render_faces
from .baselines import FaceFeatures, face_features, fit_probe
from .heldout import HeldoutFace, read_heldout_index, write_heldout_faces
from .metrics import classification_metrics
from .plots import plot_confusion_matrix

logger = logging.getLogger(__name__)
GROUPS = ("format", "recipe_split", "crop", "label")


def _in_workers(function: Callable, items: Sequence, workers: int, description: str) -> list:
    """`function` over `items` in spawned processes (a forked renderer hangs), in order, with a bar."""
    if workers <= 1:
        return [function(item) for item in tqdm(items, desc=description, unit="face")]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return list(tqdm(pool.imap(function, items, chunksize=4), total=len(items), desc=description, unit="face"))


def _features_of_file(path: str, alignment) -> FaceFeatures:
    return face_features(load_mesh(path), alignment)


def _features_of_sample(sample, alignment) -> FaceFeatures:
    return face_features(load_sample(sample)[0], alignment)


def _views_of_file(path: str, processor) -> np.ndarray | None:
    """The face's views as the processor renders them, or None when its face check refuses the mesh."""
    try:
        face = processor.load_face(path)
    except NotAFaceError:
        return None
    return render_faces([face], processor.render_settings)[0]


def six_class_accuracy(truth: Sequence[int], probabilities: np.ndarray, rows: Sequence[int],
                       labels: Sequence[str]) -> float:
    """Accuracy on the emotional faces with neutral left out of the choice, as six-class papers report it."""
    neutral = labels.index("neutral")
    keep = [(t, row) for t, row in zip(truth, rows) if t != neutral]
    scores = np.delete(probabilities[[row for _, row in keep]], neutral, axis=1)
    chosen = np.where(scores.argmax(axis=1) >= neutral, scores.argmax(axis=1) + 1, scores.argmax(axis=1))
    return float(np.mean([c == t for c, (t, _) in zip(chosen, keep)]))


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of an accuracy: with a few hundred faces one face is a fraction of a point."""
    if total == 0:
        return (0.0, 0.0)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarise(truth: Sequence[int], predicted: Sequence[int], faces: Sequence[HeldoutFace],
              labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy with its interval, per-class metrics, the confusion matrix, accuracy per group, and each face's
    predicted label (None: refused), by path: the groups are dealt together (a format's faces lean to one
    recipe split), so a reader may need to cross them."""
    correct = [int(t == p) for t, p in zip(truth, predicted)]
    scored = [(t, p) for t, p in zip(truth, predicted) if p >= 0]
    metrics = classification_metrics([t for t, _ in scored], [p for _, p in scored], labels)
    metrics.update(num_samples=len(truth), accuracy=float(np.mean(correct)), refused_as_not_a_face=len(truth) - len(scored),
                   accuracy_95ci=wilson_interval(sum(correct), len(correct)),
                   predictions={face.path: labels[p] if p >= 0 else None for face, p in zip(faces, predicted)})
    for group in GROUPS:
        values = sorted({getattr(face, group) for face in faces})
        metrics[f"by_{group}"] = {
            value: {"accuracy": float(np.mean([c for c, f in zip(correct, faces) if getattr(f, group) == value])),
                    "num_samples": sum(getattr(f, group) == value for f in faces)}
            for value in values
        }
    return metrics


@torch.no_grad()
def model_predictions(model: Any, processor: Any, faces: Sequence[HeldoutFace], workers: int,
                      batch_size: int = 32) -> tuple[list[int], list[str], np.ndarray]:
    """The model's predicted class per face (by its own scorer; -1 where the face check refused the mesh), its
    labels and the probabilities."""
    views = _in_workers(partial(_views_of_file, processor=processor), [f.path for f in faces], workers,
                        "render held-out faces")
    accepted = [index for index, face_views in enumerate(views) if face_views is not None]
    probabilities = np.zeros((len(views), len(model.config.emotion_labels)), dtype=np.float32)
    for start in range(0, len(accepted), batch_size):
        chosen = accepted[start:start + batch_size]
        inputs = processor(images=[views[index] for index in chosen])
        probabilities[chosen] = model(pixel_values=inputs["pixel_values"]).logits.softmax(dim=-1).numpy()
    # a face the face check refused counts as wrong (-1 matches no class)
    predicted = [int(probabilities[i].argmax()) if views[i] is not None else -1 for i in range(len(views))]
    return predicted, list(model.config.emotion_labels), probabilities


def _baseline_training_samples(train_dir: str, labels: Sequence[str], count: int, seed: int) -> list:
    samples = [s for s in scan_dataset(train_dir, "folder") if s.label in labels]
    order = np.random.default_rng(seed).permutation(len(samples))[:count]
    return [samples[i] for i in sorted(order)]


@dataclass(frozen=True)
class BaselineData:
    """Where the baselines learn: `num_faces` faces drawn (with `seed`) from the model's training folder, and
    the validation folder their L2 strength is chosen on."""

    train_dir: str
    val_dir: str
    num_faces: int = 2100
    seed: int = 0


@dataclass(frozen=True)
class HeldoutEvaluation:
    """One held-out run: the model, the held-out faces (written with `subjects` identities when missing), the
    baselines' data and the results folder."""

    model_dir: str
    heldout_dir: str
    baselines: BaselineData
    out_dir: str
    subjects: int = 40
    workers: int = 2
    command: str = ""


def baseline_scores(data: BaselineData, faces: Sequence[HeldoutFace], labels: Sequence[str], alignment,
                    workers: int) -> dict[str, Any]:
    """Fit both baselines (training faces, strength on validation) and predict the held-out faces."""
    train = _baseline_training_samples(data.train_dir, labels, data.num_faces, data.seed)
    validation = [s for s in scan_dataset(data.val_dir, "folder") if s.label in labels]
    extract = partial(_features_of_sample, alignment=alignment)
    train_features = _in_workers(extract, train, workers, "baseline features (train)")
    val_features = _in_workers(extract, validation, workers, "baseline features (validation)")
    test_features = _in_workers(partial(_features_of_file, alignment=alignment), [f.path for f in faces], workers,
                                "baseline features (held-out)")
    index = {label: i for i, label in enumerate(labels)}
    results = {}
    for kind in ("pixels", "vertices"):
        def table(features, samples_labels):
            rows = [(getattr(f, kind), index[label]) for f, label in zip(features, samples_labels)
                    if getattr(f, kind) is not None]
            return (np.stack([r[0] for r in rows]), np.array([r[1] for r in rows])) if rows else None
        fit_set = table(train_features, [s.label for s in train])
        val_set = table(val_features, [s.label for s in validation])
        # the vertex probe reads only the face model's full topology: faces of another mesh leave it out
        usable = [i for i, f in enumerate(test_features) if getattr(f, kind) is not None]
        if fit_set is None or val_set is None or not usable:
            continue
        probe, strengths = fit_probe(fit_set, val_set, len(labels))
        predicted = probe.predict(np.stack([getattr(test_features[i], kind) for i in usable])).tolist()
        results[kind] = {"faces": usable, "predicted": predicted, "validation_accuracy_by_l2": strengths,
                         "num_training_faces": int(len(fit_set[1]))}
    return results


def evaluate_heldout(run: HeldoutEvaluation) -> dict[str, Any]:
    """Write the held-out faces (once), score the model and both baselines on them, write JSON and plots."""
    heldout = Path(run.heldout_dir)
    faces = read_heldout_index(heldout) if (heldout / "index.json").is_file() else \
        write_heldout_faces(heldout, run.subjects)
    model, processor = load_pretrained(run.model_dir)
    predicted, labels, probabilities = model_predictions(model, processor, faces, run.workers)
    faces_in_labels = [i for i, f in enumerate(faces) if f.label in labels]
    faces = [faces[i] for i in faces_in_labels]
    predicted = [predicted[i] for i in faces_in_labels]
    truth = [labels.index(f.label) for f in faces]
    report = {"model": run.model_dir, "command": run.command, "num_faces": len(faces), "labels": labels,
              "model_scores": summarise(truth, predicted, faces, labels)}
    if "neutral" in labels:
        report["model_scores"]["six_class_accuracy"] = six_class_accuracy(truth, probabilities, faces_in_labels,
                                                                          labels)
    for kind, result in baseline_scores(run.baselines, faces, labels, processor.alignment, run.workers).items():
        used, probe_predicted = result.pop("faces"), result.pop("predicted")
        chosen = [faces[i] for i in used]
        report[f"baseline_{kind}"] = {**result, **summarise([labels.index(f.label) for f in chosen],
                                                              probe_predicted, chosen, labels)}
        # the model on exactly the faces this baseline could score (the vertex probe needs the full topology)
        model_correct = sum(predicted[i] == truth[i] for i in used)
        report[f"baseline_{kind}"]["model_on_the_same_faces"] = {
            "accuracy": model_correct / max(1, len(used)), "accuracy_95ci": wilson_interval(model_correct, len(used))}
    _write_report(report, labels, Path(run.out_dir))
    return report


def _write_report(report: dict[str, Any], labels: Sequence[str], out: Path) -> None:
    """A confusion matrix for the model and each baseline, and heldout_results.json."""
    out.mkdir(parents=True, exist_ok=True)
    for name in [key for key in report if key == "model_scores" or key.startswith("baseline_")]:
        scores = report[name]
        plot_confusion_matrix(scores["confusion_matrix"], labels, out / f"confusion_{name}.png",
                              title=f"{name}: {scores['accuracy']:.1%} on {scores['num_samples']} held-out faces")
    (out / "heldout_results.json").write_text(json.dumps(report, indent=2))


__all__ = ["BaselineData", "HeldoutEvaluation", "baseline_scores", "evaluate_heldout", "model_predictions", "summarise", "wilson_interval"]
