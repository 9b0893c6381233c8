"""The face template that the processor registers every mesh to: the ICT mean face, made once from the
vendored model and saved into each processor's config, so that remote code needs no copy of the model."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .synthetic.face_model import face_model
from .model.preprocessing_affectvlm import FaceAlignment, border_vertices

# The ICT model's "narrow face" (forehead to chin, ear to ear, no scalp or neck) is its first 6706 vertices.
NARROW_FACE_VERTICES = 6706
TEMPLATE_POINTS = 600
NOSE_TIP_LANDMARK = 30  # in the 68-point scheme


BORDER_REACH = 0.6  # cm: template points this close to the narrow face's outline count as its border


def farthest_points(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of `count` points spread evenly over a cloud (greedy farthest-point sampling from the first)."""
    chosen = [0]
    distance = np.linalg.norm(points - points[0], axis=1)
    for _ in range(count - 1):
        chosen.append(int(distance.argmax()))
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return np.asarray(chosen)


@lru_cache(maxsize=1)
def default_face_alignment() -> FaceAlignment:
    """The mean neutral face (nose tip at the origin, centimetres), 600 evenly spread points of it."""
    model = face_model()
    face = (model.neutral[:NARROW_FACE_VERTICES] - model.neutral[model.landmarks68[NOSE_TIP_LANDMARK]]).astype(float)
    triangles = model.triangles[(model.triangles < NARROW_FACE_VERTICES).all(axis=1)]
    outline = face[border_vertices(triangles, NARROW_FACE_VERTICES)]
    points = face[farthest_points(face, TEMPLATE_POINTS)]
    near_outline = np.min(np.linalg.norm(points[:, None] - outline[None], axis=2), axis=1) < BORDER_REACH
    return FaceAlignment.from_points(points, border=tuple(np.flatnonzero(near_outline).tolist()))
