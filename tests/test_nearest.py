"""The face fit's nearest-point search gives a k-d tree's answers: the same distances bit for bit and the same
points, for clouds of any shape and for queries inside, beside and far outside them."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from affectvlm.model.nearest_affectvlm import PointGrid


@pytest.mark.parametrize("seed", range(8))
def test_the_grid_finds_what_a_kd_tree_finds(seed):
    rng = np.random.default_rng(seed)
    for count in (1, 2, 37, 800, 3000):
        points = rng.normal(size=(count, 3)) * rng.uniform(0.01, 100, 3)  # flat, long or round clouds
        if seed % 2:
            points = points.round(1)  # repeated points: equal distances
        queries = np.concatenate([points[: 50] + rng.normal(scale=0.01, size=(min(count, 50), 3)),
                                  rng.normal(size=(300, 3)) * rng.uniform(0.01, 300, 3) + rng.normal(size=3) * 50])
        distances, nearest = PointGrid.build(points).query(queries)
        expected_distances, expected_nearest = cKDTree(points).query(queries)
        np.testing.assert_array_equal(distances, expected_distances)
        np.testing.assert_array_equal(points[nearest], points[expected_nearest])


def test_flat_and_collapsed_clouds_are_searched_too():
    rng = np.random.default_rng(0)
    flat = np.column_stack([rng.normal(size=(500, 2)), np.zeros(500)])  # no extent along z
    collapsed = np.ones((20, 3))  # one point, repeated
    for points in (flat, collapsed):
        grid = PointGrid.build(points)
        assert grid.dims.max() <= 64 and grid.starts[-1] == len(points)
        queries = rng.normal(size=(200, 3)) * 3
        distances, nearest = grid.query(queries)
        expected_distances, expected_nearest = cKDTree(points).query(queries)
        np.testing.assert_array_equal(distances, expected_distances)
        np.testing.assert_array_equal(points[nearest], points[expected_nearest])
