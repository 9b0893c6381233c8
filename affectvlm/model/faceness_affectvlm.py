"""Is this a face? A geometric check, run before any emotion is named, that refuses what no face scan looks like.

Every test asks for something any face-like surface has, whatever its topology, units, pose, crop or holes:
enough triangles; an extent in at least two directions (not a line or a needle) and some depth (not a flat
sheet); concavities (eye sockets, the sides of the nose, the mouth: a box, a sphere, a cylinder or any other
convex solid has none); and a protrusion, a nose or a chin, whose tip narrows like a cone (the tip of a sphere
or a torus is a broad cap). The thresholds sit far from both faces and primitives, so the check refuses clear
non-faces and never a real face: measured by `scripts/faceness_rates.py` over synthetic faces in every layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .meshes_affectvlm import FaceMesh, MeshFormatError

MIN_TRIANGLES = 100
MIN_MIDDLE_EXTENT = 0.2  # second / first principal extent: below is a line or a needle
MIN_DEPTH_EXTENT = 0.02  # third / first principal extent: below is a flat sheet
MIN_CONCAVITY = 0.02  # how deep the surface dips inside its convex hull, per unit of size
MAX_TIP_WIDTH = 3.5  # width / depth of the narrowest tip: a sphere's cap 4.3, a torus's 4.5, a nose 1-2
_SAMPLES = 1000
_DIRECTIONS = 256
_TIP_DEPTH = 0.1  # depth of the cap at a tip, per unit of size


class NotAFaceError(MeshFormatError):
    """A valid mesh that does not look like a face, so no emotion is given for it."""


@dataclass(frozen=True)
class FaceShape:
    """The measurements the check compares with its thresholds (lengths per unit of the mesh's size)."""

    triangles: int
    middle_extent: float
    depth_extent: float
    concavity: float
    tip_width: float


def _surface_samples(mesh: FaceMesh, count: int) -> tuple[np.ndarray, int]:
    """Area-weighted points on the surface (triangle centroids drawn by area), and the non-degenerate triangles."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    corners = vertices[np.asarray(mesh.faces)]
    areas = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    extent = np.ptp(vertices, axis=0).max()
    solid = areas > 1e-12 * extent**2
    if solid.sum() < MIN_TRIANGLES:
        return np.zeros((0, 3)), int(solid.sum())
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(areas), size=count, p=areas / areas.sum())
    weights = rng.dirichlet((1.0, 1.0, 1.0), size=count)  # uniform over each triangle, not only its centroid
    return np.einsum("nk,nkd->nd", weights, corners[chosen]), int(solid.sum())


def _dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) float32 dot products of 3-vectors. Three broadcast products in float32, not a BLAS call: BLAS's
    threads spin for tens of milliseconds when other threads (a busy Space) want the cores; float32 halves
    the memory traffic, and the check's thresholds lie far beyond its rounding."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    return a[:, 0:1] * b[:, 0] + a[:, 1:2] * b[:, 1] + a[:, 2:3] * b[:, 2]


def _concavity(points: np.ndarray) -> float:
    """The 95th percentile of how far the points lie inside their convex hull (0 for a convex solid)."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(points)
    except QhullError:  # flat or degenerate: nothing lies inside
        return 0.0
    normals, offsets = hull.equations[:, :3], hull.equations[:, 3].astype(np.float32)
    nearest = np.full(len(points), -np.inf, np.float32)  # the signed distance to the nearest facet plane
    for start in range(0, len(normals), 512):  # bounded memory whatever the hull's size
        signed = _dots(points, normals[start:start + 512]) + offsets[start:start + 512]  # <= 0 inside
        nearest = np.maximum(nearest, signed.max(axis=1))
    return float(np.percentile(np.maximum(-nearest, 0.0), 95))


def _directions(count: int) -> np.ndarray:
    """Nearly uniform unit vectors (a Fibonacci sphere)."""
    index = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * index / count)
    azimuth = np.pi * (1 + 5**0.5) * index
    return np.column_stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)])


def _tip_width(points: np.ndarray) -> float:
    """Over many directions, the narrowest cap at the surface's extreme point: the cap's widest reach from the
    tip across the direction, over the cap's depth. A cone's tip gives tan(half angle), a sphere's sqrt(2 / depth).
    Only the (direction, point) pairs inside a cap are measured: a few percent of all pairs."""
    directions = _directions(_DIRECTIONS)
    heights = _dots(points, directions)  # (points, directions)
    tip = heights.argmax(axis=0)
    top = heights[tip, np.arange(len(directions))]
    direction, point = np.nonzero(heights.T >= top[:, None] - _TIP_DEPTH)  # grouped by direction, tips included
    along = heights[point, direction] - top[direction]  # <= 0: how far below its tip
    squared = ((points[point] - points[tip][direction]) ** 2).sum(axis=1)
    across = np.sqrt(np.maximum(squared - along.astype(np.float64) ** 2, 0.0))
    widest = np.maximum.reduceat(across, np.searchsorted(direction, np.arange(len(directions))))
    return float((widest / _TIP_DEPTH).min())


def measure_face_shape(mesh: FaceMesh) -> FaceShape:
    """The check's measurements of a validated mesh, in units of its RMS radius about its area centroid."""
    points, triangles = _surface_samples(mesh, _SAMPLES)
    if triangles < MIN_TRIANGLES:
        return FaceShape(triangles, 0.0, 0.0, 0.0, np.inf)
    points = points - points.mean(axis=0)
    points = points / np.sqrt((points**2).sum(axis=1).mean())
    extents = np.linalg.svd(points, compute_uv=False)
    return FaceShape(triangles, float(extents[1] / extents[0]), float(extents[2] / extents[0]),
                     _concavity(points), _tip_width(points))


def face_shape_problem(shape: FaceShape) -> str | None:
    """Why a mesh with these measurements is not a face, or None when it may be one."""
    if shape.triangles < MIN_TRIANGLES:
        return f"only {shape.triangles} triangle(s) with any area (a face scan has thousands)"
    if shape.middle_extent < MIN_MIDDLE_EXTENT:
        return f"it is long and thin like a line or a needle (extent ratio {shape.middle_extent:.2f})"
    if shape.depth_extent < MIN_DEPTH_EXTENT:
        return f"it is flat (depth ratio {shape.depth_extent:.3f})"
    if shape.concavity < MIN_CONCAVITY:
        return f"it is convex like a box or a ball, with no eye sockets or nose (concavity {shape.concavity:.3f})"
    if shape.tip_width > MAX_TIP_WIDTH:
        return f"nothing protrudes like a nose or a chin (narrowest tip {shape.tip_width:.1f} wide per unit deep)"
    return None


def check_face(mesh: FaceMesh) -> None:
    """Raise NotAFaceError naming the mesh's source when it does not look like a face."""
    problem = face_shape_problem(measure_face_shape(mesh))
    if problem is not None:
        raise NotAFaceError(f"{mesh.source}: does not look like a face: {problem}; no emotion given")


__all__ = ["FaceShape", "NotAFaceError", "check_face", "face_shape_problem", "measure_face_shape"]
