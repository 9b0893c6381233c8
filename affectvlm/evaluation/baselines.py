"""Trivial baselines that a model result must beat on the same faces: linear classifiers on raw features.

- pixels: the frontal normal map at 24 x 24 px, through the processor's own face preprocessing;
- vertices: the aligned vertex coordinates, where a mesh still has the face model's topology.

Both are multinomial logistic regressions (L2, full-batch L-BFGS on standardised features), their L2
strength chosen on a validation set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model.meshes_affectvlm import FaceMesh
from ..model.preprocessing_affectvlm import FaceAlignment
from ..model.processing_affectvlm import prepare_face
from ..model.rendering_affectvlm import ViewSpec, render_views
from .heldout import full_topology

PIXEL_SIZE = 24
WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1)
_FRONTAL = (ViewSpec("frontal", 0.0, 0.0),)


@dataclass
class FaceFeatures:
    """One face's baseline inputs: frontal normal-map pixels, and aligned vertices when the topology allows."""

    pixels: np.ndarray
    vertices: np.ndarray | None


def face_features(face: FaceMesh, alignment: FaceAlignment) -> FaceFeatures:
    """The baselines' features of one loaded mesh (one registration serves both)."""
    canonical = prepare_face(face, alignment)
    image = render_views(canonical, _FRONTAL, mode="normals", image_size=PIXEL_SIZE, normalized=True)[0]
    vertices = None
    if full_topology(len(face.vertices)):
        vertices = canonical.metadata["alignment"]["fit"].to_template(face.vertices).astype(np.float32).ravel()
    return FaceFeatures(image.astype(np.float32).ravel() / 255.0, vertices)


class LinearProbe:
    """Multinomial logistic regression on standardised features."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, num_classes: int, weight_decay: float) -> None:
        x = torch.as_tensor(features, dtype=torch.float64)
        self.mean, self.std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
        x = (x - self.mean) / self.std
        y = torch.as_tensor(labels, dtype=torch.long)
        self.weight = torch.zeros(x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
        self.bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([self.weight, self.bias], max_iter=200, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ self.weight + self.bias, y)
            loss = loss + weight_decay * (self.weight**2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)

    @torch.no_grad()
    def predict(self, features: np.ndarray) -> np.ndarray:
        x = (torch.as_tensor(features, dtype=torch.float64) - self.mean) / self.std
        return (x @ self.weight + self.bias).argmax(dim=1).numpy()


def fit_probe(train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray],
              num_classes: int) -> tuple[LinearProbe, dict[str, float]]:
    """The probe whose L2 strength scores best on `validation`; returns it and every strength's score."""
    scores, best = {}, None
    for decay in WEIGHT_DECAYS:
        probe = LinearProbe(*train, num_classes, decay)
        scores[f"{decay:g}"] = float((probe.predict(validation[0]) == validation[1]).mean())
        if best is None or scores[f"{decay:g}"] > best[0]:
            best = (scores[f"{decay:g}"], probe)
    return best[1], scores


__all__ = ["FaceFeatures", "LinearProbe", "PIXEL_SIZE", "face_features", "fit_probe"]
