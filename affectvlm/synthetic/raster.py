"""Orthographic z-buffer rasterisation of a triangle mesh onto a pixel grid, vectorised with numpy.

One routine serves two writers: a range scan (Bosphorus `.bnt`: depth and coordinates per grid point) and a
baked texture (colours per texel in a planar uv projection). Pixel (row, col) has its centre at the point
(col, row) in the caller's pixel coordinates; the nearest surface is the one with the largest depth value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Raster:
    """What the mesh shows at each pixel: `covered` (rows, cols) bool, `depth` (rows, cols) and the
    barycentric interpolation of the per-vertex `values` (rows, cols, k); uncovered pixels hold 0."""

    covered: np.ndarray
    depth: np.ndarray
    values: np.ndarray


def _candidate_pixels(corners: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(triangle, row, col) for every pixel centre inside each triangle's bounding box, all triangles at once."""
    rows, cols = shape
    low = np.ceil(corners.min(axis=1)).astype(np.int64)  # (F, 2) as (col, row)
    high = np.floor(corners.max(axis=1)).astype(np.int64)
    low = np.maximum(low, 0)
    high = np.minimum(high, [cols - 1, rows - 1])
    widths = np.maximum(high[:, 0] - low[:, 0] + 1, 0)
    heights = np.maximum(high[:, 1] - low[:, 1] + 1, 0)
    counts = widths * heights
    triangle = np.repeat(np.arange(len(corners)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    col = low[triangle, 0] + offset % widths[triangle]
    row = low[triangle, 1] + offset // widths[triangle]
    return triangle, row, col


def rasterize(
    points: np.ndarray, depth: np.ndarray, faces: np.ndarray, shape: tuple[int, int], values: np.ndarray
) -> Raster:
    """Draw triangles `faces` over vertices at pixel coordinates `points` (N, 2) as (col, row), keeping at
    each pixel the front-most surface (largest `depth`), and interpolate `values` (N, k) there."""
    rows, cols = shape
    points = np.asarray(points, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    corners = points[faces]  # (F, 3, 2)
    edge1 = corners[:, 1] - corners[:, 0]
    edge2 = corners[:, 2] - corners[:, 0]
    area = edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0]
    drawable = np.abs(area) > 1e-12
    faces, corners, edge1, edge2, area = (part[drawable] for part in (faces, corners, edge1, edge2, area))

    triangle, row, col = _candidate_pixels(corners, shape)
    relative = np.stack([col, row], axis=1) - corners[triangle, 0]
    w1 = (relative[:, 0] * edge2[triangle, 1] - relative[:, 1] * edge2[triangle, 0]) / area[triangle]
    w2 = (edge1[triangle, 0] * relative[:, 1] - edge1[triangle, 1] * relative[:, 0]) / area[triangle]
    weights = np.stack([1.0 - w1 - w2, w1, w2], axis=1)
    inside = (weights >= -1e-9).all(axis=1)
    triangle, row, col, weights = triangle[inside], row[inside], col[inside], weights[inside]

    corner_ids = faces[triangle]
    pixel_depth = (weights * depth[corner_ids]).sum(axis=1)
    pixel = row * cols + col
    order = np.lexsort((-pixel_depth, pixel))  # per pixel, front-most first
    first = order[np.r_[True, pixel[order][1:] != pixel[order][:-1]]] if len(order) else order

    covered = np.zeros(rows * cols, dtype=bool)
    covered[pixel[first]] = True
    depth_image = np.zeros(rows * cols)
    depth_image[pixel[first]] = pixel_depth[first]
    value_image = np.zeros((rows * cols, values.shape[1]))
    value_image[pixel[first]] = np.einsum("pc,pck->pk", weights[first], values[corner_ids[first]])
    return Raster(covered.reshape(rows, cols), depth_image.reshape(rows, cols), value_image.reshape(rows, cols, -1))
