"""Exact nearest-point search in a uniform grid, compiled with numba: the face fit asks for the nearest input
point of each of the template's 600 points about two dozen times per face, and at these sizes (800 to 3,000
input points) scipy's cKDTree spends most of a query on per-point overhead. Same answers as a k-d tree: the
grid is searched in rings of cells until no unsearched cell can hold a nearer point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

_POINTS_PER_CELL = 0.5  # the cell size that would put this many points in a cell of a filled volume (a face
# is a surface: its cells hold more); measured fastest for 800 to 3,000 face points
_MAX_CELLS_PER_AXIS = 64


@dataclass(frozen=True)
class PointGrid:
    """Points bucketed by grid cell: `order` lists the points cell by cell, `starts[c]:starts[c + 1]` are
    cell c's entries in it."""

    points: np.ndarray  # (N, 3) float64, in `order`
    order: np.ndarray  # (N,) int64: each bucketed point's index in the input
    starts: np.ndarray  # (cells + 1,) int64
    origin: np.ndarray  # (3,) float64: the low corner of cell (0, 0, 0)
    cell: float
    dims: np.ndarray  # (3,) int64: cells along x, y and z

    @classmethod
    def build(cls, points: np.ndarray) -> "PointGrid":
        """The grid over `points` ((N, 3), N >= 1)."""
        points = np.ascontiguousarray(points, dtype=np.float64)
        origin = points.min(axis=0)
        extent = np.maximum(points.max(axis=0) - origin, 1e-12)
        cell = float(np.cbrt(np.prod(extent) * _POINTS_PER_CELL / len(points)))
        cell = max(cell, float(extent.max()) / _MAX_CELLS_PER_AXIS)
        dims = np.minimum(np.floor(extent / cell).astype(np.int64) + 1, _MAX_CELLS_PER_AXIS)
        ids = _cell_ids(points, origin, cell, dims)
        order = np.argsort(ids, kind="stable")
        starts = np.zeros(int(np.prod(dims)) + 1, np.int64)
        np.cumsum(np.bincount(ids, minlength=len(starts) - 1), out=starts[1:])
        return cls(points[order], order.astype(np.int64), starts, origin, cell, dims)

    def query(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distances, indices) of each query's nearest point, as `scipy.spatial.cKDTree.query` gives them."""
        queries = np.ascontiguousarray(queries, dtype=np.float64)
        distances, nearest = np.empty(len(queries)), np.empty(len(queries), np.int64)
        _nearest(queries, self.points, self.starts, self.origin, self.cell, self.dims, distances, nearest)
        return distances, self.order[nearest]


@numba.njit(cache=True, nogil=True)
def _cell_ids(points: np.ndarray, origin: np.ndarray, cell: float, dims: np.ndarray) -> np.ndarray:
    """Each point's cell, as one index x * (ny * nz) + y * nz + z."""
    ids = np.empty(points.shape[0], np.int64)
    for n in range(points.shape[0]):
        index = 0
        for axis in range(3):
            step = min(max(int(np.floor((points[n, axis] - origin[axis]) / cell)), 0), dims[axis] - 1)
            index = index * dims[axis] + step
        ids[n] = index
    return ids


@numba.njit(cache=True, nogil=True)
def _nearest(queries: np.ndarray, points: np.ndarray, starts: np.ndarray, origin: np.ndarray, cell: float,
             dims: np.ndarray, distances: np.ndarray, nearest: np.ndarray) -> None:
    """Rings of cells around each query's (clamped) cell, until the nearest point so far is nearer than any
    unsearched cell can be: a point r or more cells away along some axis is more than r - 1 cell sizes away,
    whether the query lies inside the grid or beyond its edge."""
    centre = np.empty(3, np.int64)
    for q in range(queries.shape[0]):
        for axis in range(3):
            centre[axis] = min(max(int(np.floor((queries[q, axis] - origin[axis]) / cell)), 0), dims[axis] - 1)
        reach = 0
        for axis in range(3):
            reach = max(reach, centre[axis], dims[axis] - 1 - centre[axis])
        best, best_index = np.inf, 0
        for ring in range(reach + 1):
            bound = (ring - 1) * cell
            if ring > 0 and best <= bound * bound:
                break
            best, best_index = _search_ring(queries[q], points, starts, centre, ring, dims, best, best_index)
        distances[q], nearest[q] = np.sqrt(best), best_index


@numba.njit(cache=True, nogil=True, inline="always")
def _search_ring(query: np.ndarray, points: np.ndarray, starts: np.ndarray, centre: np.ndarray, ring: int,
                 dims: np.ndarray, best: float, best_index: int) -> tuple[float, int]:
    """The nearest of `best` and the points in the cells exactly `ring` cells from `centre` (squared distance)."""
    for x in range(max(centre[0] - ring, 0), min(centre[0] + ring, dims[0] - 1) + 1):
        for y in range(max(centre[1] - ring, 0), min(centre[1] + ring, dims[1] - 1) + 1):
            for z in range(max(centre[2] - ring, 0), min(centre[2] + ring, dims[2] - 1) + 1):
                if max(abs(x - centre[0]), abs(y - centre[1]), abs(z - centre[2])) != ring:
                    continue
                index = (x * dims[1] + y) * dims[2] + z
                for n in range(starts[index], starts[index + 1]):
                    dx, dy, dz = points[n, 0] - query[0], points[n, 1] - query[1], points[n, 2] - query[2]
                    squared = dx * dx + dy * dy + dz * dz
                    if squared < best:
                        best, best_index = squared, n
    return best, best_index
