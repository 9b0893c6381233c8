"""Synthetic 3D faces with known emotions, from the ICT Face Model Light and FACS action-unit prototypes.

A face is `neutral + identity_deltas . a + expression_deltas . w`: identity coefficients a ~ N(0, 1) from a
seed, expression weights w from the emotion's action units (EMFACS prototypes) scaled by intensity. These are
animation shapes, the same for every identity: a stand-in for scanned emotion data, never a substitute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..model.meshes_affectvlm import FaceMesh

# FACS action unit -> ICT expression shapes (from the ICT-FaceKit documentation)
ACTION_UNIT_SHAPES: dict[int, tuple[str, ...]] = {
    1: ("browInnerUp_L", "browInnerUp_R"),
    2: ("browOuterUp_L", "browOuterUp_R"),
    4: ("browDown_L", "browDown_R"),
    5: ("eyeWide_L", "eyeWide_R"),
    6: ("cheekSquint_L", "cheekSquint_R"),
    7: ("eyeSquint_L", "eyeSquint_R"),
    9: ("noseSneer_L", "noseSneer_R"),
    10: ("mouthShrugUpper",),
    11: ("mouthUpperUp_L", "mouthUpperUp_R"),
    12: ("mouthSmile_L", "mouthSmile_R"),
    15: ("mouthFrown_L", "mouthFrown_R"),
    16: ("mouthLowerDown_L", "mouthLowerDown_R"),
    17: ("mouthShrugLower",),
    20: ("mouthStretch_L", "mouthStretch_R"),
    24: ("mouthPress_L", "mouthPress_R"),
    26: ("jawOpen",),
}

# EMFACS prototypes (action unit -> activation at full intensity); AU23 has no shape, AU24 stands in.
EMOTION_PROTOTYPES: dict[str, dict[int, float]] = {
    "anger": {4: 1.0, 5: 0.5, 7: 0.8, 24: 0.8, 17: 0.4},
    "disgust": {9: 1.0, 10: 0.8, 15: 0.4, 17: 0.5},
    "fear": {1: 0.8, 2: 0.6, 4: 0.6, 5: 1.0, 7: 0.3, 20: 0.9, 26: 0.3},
    "happiness": {6: 0.9, 12: 1.0, 26: 0.15},
    "sadness": {1: 1.0, 4: 0.6, 15: 1.0, 17: 0.6},
    "surprise": {1: 1.0, 2: 1.0, 5: 0.9, 26: 0.8},
    "neutral": {},
}
INTENSITY_SCALE = {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}


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
    path = resources.files("affectvlm.assets.ict_face_model").joinpath("ict_face_only_9409.npz")
    with path.open("rb") as handle, np.load(handle) as data:
        return FaceModel(
            neutral=data["neutral"],
            identity_deltas=data["identity_deltas"],
            expression_deltas=data["expression_deltas"],
            expression_names=tuple(str(name) for name in data["expression_names"]),
            triangles=data["triangles"].astype(np.int64),
            landmarks68=data["landmarks68"],
        )


def expression_weights(emotion: str, intensity: int = 4) -> np.ndarray:
    """Weights of the 53 expression shapes for an emotion's prototype at intensity 1..4."""
    if emotion not in EMOTION_PROTOTYPES:
        raise ValueError(f"unknown emotion {emotion!r}; known: {sorted(EMOTION_PROTOTYPES)}")
    if intensity not in INTENSITY_SCALE:
        raise ValueError(f"intensity must be one of {sorted(INTENSITY_SCALE)}, got {intensity}")
    model = face_model()
    weights = np.zeros(len(model.expression_names), dtype=np.float32)
    for unit, activation in EMOTION_PROTOTYPES[emotion].items():
        for shape in ACTION_UNIT_SHAPES[unit]:
            weights[model.expression_names.index(shape)] = activation * INTENSITY_SCALE[intensity]
    return weights


def identity_coefficients(seed: int, count: int = 100) -> np.ndarray:
    """Identity coefficients a ~ N(0, 1) for one synthetic subject; disjoint seeds give different people."""
    return np.random.default_rng(seed).standard_normal(count).astype(np.float32)


def synthesize_face(subject_seed: int, emotion: str, intensity: int = 4) -> FaceMesh:
    """One synthetic face mesh with its landmarks and metadata."""
    model = face_model()
    coefficients = identity_coefficients(subject_seed, model.identity_deltas.shape[0])
    vertices = (
        model.neutral
        + np.tensordot(coefficients, model.identity_deltas, axes=1)
        + np.tensordot(expression_weights(emotion, intensity), model.expression_deltas, axes=1)
    ).astype(np.float32)
    return FaceMesh(
        vertices=vertices,
        faces=model.triangles,
        landmarks=vertices[model.landmarks68],
        source=f"<synthetic subject {subject_seed} {emotion} {intensity}>",
        metadata={"subject": subject_seed, "emotion": emotion, "intensity": intensity},
    )


__all__ = ["EMOTION_PROTOTYPES", "expression_weights", "face_model", "identity_coefficients", "synthesize_face"]
