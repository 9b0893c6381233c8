"""Eyes and mouth as a scanner sees them.

The ICT mesh leaves each eye as a hole (its eyeballs are separate meshes) and the lips as a slit. A scan has a
surface there: the eyeball under the lids, closed lips, the teeth and tongue behind an open mouth. Faces that
always show the holes teach a model a cue no scan has: the model trained on them scored 0.98 on ICT face
masks and 0.84 on the same faces with the eyes and mouth capped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .face_model import face_model
from .variation import Variation

EYE_BULGE_CM = (0.05, 0.2)  # the eyeball's front stands this far out of the lid opening's mean point
MOUTH_DEPTH_CM = (0.2, 1.5)  # teeth and tongue sit this far behind the lips' mean point


@dataclass(frozen=True)
class Opening:
    """One hole of the model's mesh that a scan would show as surface: its boundary, in the order of the
    triangles' edges around it."""

    name: str  # "eyes" (both share one draw) or "mouth"
    loop: np.ndarray


def _boundary_loops(triangles: np.ndarray) -> list[np.ndarray]:
    """Closed boundary loops of a triangle mesh, each following its triangles' edge direction. Only a border
    where each vertex has one border edge out (a manifold border, as the ICT mesh's) splits into such loops;
    any other raises ValueError instead of walking in circles."""
    directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    uses = Counter(map(tuple, np.sort(directed, axis=1).tolist()))
    border = [(int(a), int(b)) for a, b in directed.tolist() if uses[(min(a, b), max(a, b))] == 1]
    following = dict(border)
    if len(following) != len(border) or set(following.values()) != set(following):
        raise ValueError("the mesh's border is not a set of simple loops (a vertex where two border edges leave, "
                         "or a border edge going the wrong way)")
    loops, seen = [], set()
    for start in following:
        if start in seen:
            continue
        loop = [start]
        while following[loop[-1]] != start:
            loop.append(following[loop[-1]])
        seen.update(loop)
        loops.append(np.array(loop))
    return loops


@lru_cache(maxsize=1)
def model_openings() -> tuple[Opening, ...]:
    """The ICT mesh's two eye holes and its mouth slit (every boundary loop but the longest, the outline)."""
    model = face_model()
    inner = sorted(_boundary_loops(model.triangles), key=len)[:-1]
    mouth_y = model.neutral[model.landmarks68[62], 1]
    return tuple(Opening("eyes" if model.neutral[loop, 1].mean() > mouth_y + 2.0 else "mouth", loop)
                 for loop in inner)


def capped_openings(vertices: np.ndarray, keep: np.ndarray | None, variation: Variation,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The model's vertices and triangles with the eyes (chance `variation.eye_fill`) and the mouth (chance
    `variation.mouth_fill`) capped by a fan around one new vertex each, and `keep` extended to the new
    vertices (a cap stays only where the scan kept its whole rim: a hole or a cut there leaves it open)."""
    triangles = face_model().triangles
    chosen = {name: rate > 0 and rng.random() < rate
              for name, rate in (("eyes", variation.eye_fill), ("mouth", variation.mouth_fill))}
    caps = [opening for opening in model_openings() if chosen[opening.name]]
    if not caps:
        return vertices, triangles, keep
    centres, fans = [], []
    for number, opening in enumerate(caps):
        low, high = EYE_BULGE_CM if opening.name == "eyes" else (-MOUTH_DEPTH_CM[1], -MOUTH_DEPTH_CM[0])
        centres.append(vertices[opening.loop].mean(axis=0) + [0.0, 0.0, rng.uniform(low, high)])
        centre = np.full(len(opening.loop), len(vertices) + number)
        fans.append(np.stack([centre, np.roll(opening.loop, -1), opening.loop], axis=1))
    if keep is not None:
        keep = np.concatenate([keep, [keep[opening.loop].all() for opening in caps]])
    return (np.vstack([vertices, np.array(centres, dtype=vertices.dtype)]), np.vstack([triangles, *fans]), keep)


__all__ = ["Opening", "capped_openings", "model_openings"]
