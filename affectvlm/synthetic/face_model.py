"""The ICT Face Model Light as arrays: a neutral face, identity and expression blendshapes, triangles and the
Multi-PIE 68 landmark vertices; loaded once per process from the vendored file."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..bundled import ICT_FACE_MODEL


@dataclass(frozen=True)
class FaceModel:
    """The ICT face-only model as arrays (units: centimetres; y up, +z towards the viewer)."""

    neutral: np.ndarray
    identity_deltas: np.ndarray
    expression_deltas: np.ndarray
    expression_names: tuple[str, ...]
    triangles: np.ndarray
    landmarks68: np.ndarray


@lru_cache(maxsize=1)
def face_model() -> FaceModel:
    """Load the vendored ICT face-only model once per process."""
    with ICT_FACE_MODEL.open("rb") as handle, np.load(handle) as data:
        return FaceModel(
            neutral=data["neutral"],
            identity_deltas=data["identity_deltas"],
            expression_deltas=data["expression_deltas"],
            expression_names=tuple(str(name) for name in data["expression_names"]),
            triangles=data["triangles"].astype(np.int64),
            landmarks68=data["landmarks68"],
        )


def identity_coefficients(seed: int, count: int = 100) -> np.ndarray:
    """Identity coefficients a ~ N(0, 1) for one synthetic subject; disjoint seeds give different people."""
    return np.random.default_rng(seed).standard_normal(count).astype(np.float32)



def identity_vertices(subject_seed: int) -> np.ndarray:
    """The neutral face of synthetic subject `subject_seed` (its identity coefficients applied)."""
    model = face_model()
    return model.neutral + np.tensordot(
        identity_coefficients(subject_seed, model.identity_deltas.shape[0]), model.identity_deltas, axes=1
    )
