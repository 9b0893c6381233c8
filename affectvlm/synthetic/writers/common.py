"""What several synthetic writers share: Binghamton-style subject ids and landmark vertices for `.bnd` files."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...data.bu3dfe import LANDMARK_COUNT
from ...model.meshes_affectvlm import FaceMesh
from ...model.nearest_affectvlm import PointGrid


def gendered_subject_ids(genders: Sequence[str], digits: int) -> list[str]:
    """Binghamton-style ids (F001 / M0001...), numbered within each gender in order of appearance."""
    counts = {"F": 0, "M": 0}
    ids = []
    for gender in genders:
        letter = "F" if gender == "female" else "M"
        counts[letter] += 1
        ids.append(f"{letter}{counts[letter]:0{digits}d}")
    return ids


def bnd_landmarks(mesh: FaceMesh, count: int = LANDMARK_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """(vertex numbers, points) of `count` landmarks: the mesh's own landmarks (snapped to their nearest
    vertex), then vertices chosen by farthest-point sampling from those already chosen. The nearest-point
    searches go through a grid (a vertex-by-vertex scan per landmark took half of writing a 4D frame)."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    own = np.zeros((0, 3)) if mesh.landmarks is None else np.asarray(mesh.landmarks, dtype=np.float64)[:count]
    chosen = PointGrid.build(vertices).query(own)[1].tolist() if len(own) else []
    if not chosen:  # start from the front-most point (the nose tip, for a face looking along +z)
        chosen.append(int(np.argmax(vertices[:, 2])))
    distance = PointGrid.build(vertices[chosen]).query(vertices)[0]
    while len(chosen) < count:
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(vertices - vertices[chosen[-1]], axis=1))
    indices = np.array(chosen, dtype=np.int64)
    return indices, vertices[indices]
