"""Synthetic 3D faces with known emotions, from the ICT Face Model Light and FACS action-unit prototypes.

A face is `neutral + identity_deltas . a + expression_deltas . w`: identity coefficients a ~ N(0, 1) from a
seed, expression weights w from the emotion's action units (EMFACS prototypes) scaled by intensity. These are
animation shapes, the same for every identity: a stand-in for scanned emotion data, never a substitute.
"""

from __future__ import annotations

import numpy as np

from ..data.emotions import EMOTIONS_WITH_NEUTRAL
from ..model.meshes_affectvlm import FaceMesh, kept_triangles
from .attributes import subject_attributes
from .expressions import EMOTION_RECIPES, INTENSITY_SCALE, Expression, prototype_expression, recipe_weights
from .face_model import face_model, identity_vertices
from .openings import capped_openings
from .variation import NO_VARIATION, Variation, pose_and_scan, scan_mask, shape_warp


def cropped_mesh(vertices: np.ndarray, keep: np.ndarray | None, source: str, metadata: dict,
                 triangles: np.ndarray | None = None) -> FaceMesh:
    """The FaceMesh of the model's vertices (and any appended after them, with their `triangles`) with its
    landmarks, cut to the `keep` mask when there is one (landmarks on cut-away parts are dropped;
    `landmark_ids` says which of the 68 remain)."""
    model = face_model()
    triangles = model.triangles if triangles is None else triangles
    landmarks = vertices[model.landmarks68]
    if keep is None:
        return FaceMesh(vertices=vertices, faces=triangles, landmarks=landmarks, source=source, metadata=metadata)
    triangles, used = kept_triangles(triangles, keep)
    kept = np.isin(model.landmarks68, used)
    metadata = {**metadata, "cropped": True, "landmark_ids": np.flatnonzero(kept).tolist()}
    return FaceMesh(vertices=vertices[used], faces=triangles, landmarks=landmarks[kept], source=source,
                    metadata=metadata)


def synthesize_expression(
    subject_seed: int, expression: Expression, variation: Variation = NO_VARIATION, sample_seed: int = 0
) -> FaceMesh:
    """One synthetic face of subject `subject_seed` showing `expression`, with its landmarks and metadata.

    The identity depends only on `subject_seed`; the per-face variation is drawn from (subject_seed,
    expression, sample_seed), so every face is reproducible on its own.
    """
    rng = np.random.default_rng([subject_seed, EMOTIONS_WITH_NEUTRAL.index(expression.emotion), expression.intensity,
                                 sample_seed, int(expression.level * 1e6), sum(map(ord, expression.recipe.name))])
    weights = recipe_weights(expression, variation, rng)
    identity = identity_vertices(subject_seed)
    expression_offsets = np.tensordot(weights, face_model().expression_deltas, axes=1)
    vertices = identity + shape_warp(identity, variation, rng) + expression_offsets
    metadata = {"subject": subject_seed, "emotion": expression.emotion, "intensity": expression.intensity,
                **subject_attributes(subject_seed)}
    if expression.recipe is not EMOTION_RECIPES[expression.emotion][0] or expression.level not in INTENSITY_SCALE.values():
        metadata.update(recipe=expression.recipe.name, level=round(expression.level, 4))
    source = f"<synthetic subject {subject_seed} {expression.emotion} {expression.intensity}>"
    keep = scan_mask(vertices, variation, rng)  # decided on the unposed face: the same region on every head
    vertices, triangles, keep = capped_openings(vertices, keep, variation, rng)
    return cropped_mesh(pose_and_scan(vertices, variation, rng, pose=None), keep, source, metadata, triangles)


def synthesize_face(
    subject_seed: int,
    emotion: str,
    intensity: int | None = None,
    variation: Variation = NO_VARIATION,
    sample_seed: int = 0,
) -> FaceMesh:
    """One synthetic face showing an emotion's prototype at intensity 1..4 (default 4; neutral: 0)."""
    return synthesize_expression(subject_seed, prototype_expression(emotion, intensity), variation, sample_seed)

