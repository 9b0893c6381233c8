"""Faces outside the ICT identity space: `Variation.shape_warp` reshapes each face smoothly and non-rigidly, and
draws nothing when it is off."""

import dataclasses

import numpy as np

from affectvlm.synthetic import NO_VARIATION, SCAN_VARIATION, face_model, synthesize_face
from affectvlm.synthetic.variation import shape_warp

WARPED = dataclasses.replace(NO_VARIATION, shape_warp=0.3)


def _nonrigid_residual(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-vertex distance left after the best similarity transform of `source` onto `target`."""
    source, target = source - source.mean(axis=0), target - target.mean(axis=0)
    u, singular, vt = np.linalg.svd(source.T @ target)
    scale = singular.sum() / (source ** 2).sum()
    return np.linalg.norm(scale * source @ (u @ vt) - target, axis=1)


def test_a_warped_face_changes_shape_not_just_pose_or_size():
    plain = synthesize_face(5, "neutral", None, NO_VARIATION).vertices
    warped = synthesize_face(5, "neutral", None, WARPED).vertices
    residual = _nonrigid_residual(plain, warped)
    assert 0.1 < np.median(residual) < 0.5  # 1-5 mm of reshaping, as an ICT identity differs from the mean face
    assert residual.max() < 2.0


def test_the_warp_is_smooth_along_the_mesh():
    identity = face_model().neutral
    displacement = shape_warp(identity, WARPED, np.random.default_rng(0))
    edges = face_model().triangles[:, :2]
    stretch = (np.linalg.norm(displacement[edges[:, 0]] - displacement[edges[:, 1]], axis=1)
               / np.linalg.norm(identity[edges[:, 0]] - identity[edges[:, 1]], axis=1))
    assert np.median(np.linalg.norm(displacement, axis=1)) > 0.1
    assert np.percentile(stretch, 99) < 0.3  # neighbours move together; noise of this size would stretch edges ~1


def test_each_face_draws_its_own_warp_reproducibly():
    first = synthesize_face(5, "anger", 4, WARPED, sample_seed=0).vertices
    np.testing.assert_array_equal(first, synthesize_face(5, "anger", 4, WARPED, sample_seed=0).vertices)
    other = synthesize_face(5, "anger", 4, WARPED, sample_seed=1).vertices
    assert np.median(_nonrigid_residual(first, other)) > 0.1


def test_without_warp_nothing_is_drawn_so_earlier_data_sets_stay_the_same():
    rng = np.random.default_rng(7)
    assert not shape_warp(face_model().neutral, SCAN_VARIATION, rng).any()
    assert rng.random() == np.random.default_rng(7).random()
