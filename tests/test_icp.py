"""The face fit's compiled step arithmetic gives what the plain definitions give: the open border of any
triangle list, the pairs an ICP step keeps, and a similarity recovered from its pairs."""

from collections import Counter

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from affectvlm.model.icp_affectvlm import open_border, trimmed_pair_moments
from affectvlm.model.preprocessing_affectvlm import umeyama


def _border_by_counting(faces: np.ndarray, count: int) -> np.ndarray:
    uses = Counter(tuple(sorted(edge)) for a, b, c in faces.tolist() for edge in ((a, b), (b, c), (c, a)))
    mask = np.zeros(count, dtype=bool)
    for edge, used in uses.items():
        if used == 1:
            mask[list(edge)] = True
    return mask


@pytest.mark.parametrize("seed", range(4))
def test_the_open_border_is_where_edges_are_used_once(seed):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(3, 400))
    faces = rng.integers(0, count, size=(count * 2, 3))  # repeated and degenerate triangles too
    np.testing.assert_array_equal(open_border(faces, count), _border_by_counting(faces, count))


def test_a_closed_surface_has_no_border_and_a_fan_has_its_rim():
    tetrahedron = np.array([[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]])
    assert not open_border(tetrahedron, 4).any()
    fan = np.array([[0, i, i + 1] for i in range(1, 200)])  # one vertex in 199 triangles: an open disc
    assert open_border(fan, 201).all()
    closed_fan = np.concatenate([fan, [[0, 200, 1]]])  # the disc closed into a cone: the rim is left
    np.testing.assert_array_equal(open_border(closed_fan, 201), _border_by_counting(closed_fan, 201))
    assert not open_border(closed_fan, 201)[0] and open_border(closed_fan, 201)[1:].all()


def test_indices_outside_the_vertices_are_refused():
    with pytest.raises(ValueError, match="outside 0..3"):
        open_border(np.array([[0, 1, 4]]), 4)


def _moments_by_sorting(source, target, border, distances, nearest, trim):
    inner = np.flatnonzero(~border[nearest])
    kept = inner[np.argsort(distances[inner], kind="stable")[: max(int(len(inner) * trim), 3)]]
    sources, targets = source[kept], target[nearest[kept]]
    centred_sources, centred_targets = sources - sources.mean(0), targets - targets.mean(0)
    return (sources.mean(0), targets.mean(0), centred_targets.T @ centred_sources / len(kept),
            (centred_sources**2).sum() / len(kept), np.sqrt(np.mean(distances[kept] ** 2)))


@pytest.mark.parametrize("seed", range(4))
def test_the_kept_pairs_are_the_closest_off_the_border(seed):
    rng = np.random.default_rng(seed)
    source, target = rng.normal(size=(300, 3)), rng.normal(size=(500, 3))
    border = rng.random(500) < 0.3
    nearest = rng.integers(0, 500, 300)
    distances = np.linalg.norm(target[nearest] - source, axis=1)
    if seed % 2:
        distances = distances.round(1)  # ties at the cut-off
    pairs = trimmed_pair_moments(source, target, border, (distances, nearest), 0.8, 0.15)
    expected = _moments_by_sorting(source, target, border, distances, nearest, 0.8)
    got = (pairs.source_mean, pairs.target_mean, pairs.covariance, pairs.source_variance, pairs.rms)
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12)
    assert trimmed_pair_moments(source, target, np.ones(500, bool), (distances, nearest), 0.8, 0.15) is None


def test_umeyama_recovers_a_similarity_from_its_pairs():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(100, 3))
    rotation = Rotation.from_euler("xyz", [20, -35, 10], degrees=True).as_matrix()
    target = 2.5 * source @ rotation.T + [1.0, -2.0, 3.0]
    every = np.arange(100)
    pairs = trimmed_pair_moments(source, target, np.zeros(100, bool), (np.zeros(100), every), 1.0, 0.0)
    fit = umeyama(pairs)
    assert fit.scale == pytest.approx(2.5)
    np.testing.assert_allclose(fit.rotation, rotation, atol=1e-12)
    np.testing.assert_allclose(fit.to_input(source), target, atol=1e-10)
    assert umeyama(pairs, scale=1.0).scale == 1.0
