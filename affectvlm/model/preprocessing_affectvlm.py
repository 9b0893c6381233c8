"""Face-centric preprocessing: find the face in any mesh, align it to a canonical frontal frame, crop it.

Real scans are not like each other: a BU-3DFE F3D file is a face region in millimetres, a Bosphorus range
scan a partial surface with holes, a face-model export a whole head with ears and neck in centimetres. A
model that sees them normalised by their bounding volume sees faces of very different size and framing.
So every mesh is registered to a template face (the ICT mean face, nose tip at the origin, +z towards the
viewer, y up) by a trimmed, symmetric similarity ICP; the registration gives pose, position and scale
(whatever the units); then the surface within a sphere around the nose tip is kept, as 3D face pipelines
crop, and scaled so that the sphere has unit radius. A full head, a face-only mask and a partial scan of
the same expression end up alike.

The input is expected roughly upright and facing +z (every dataset reader here gives that); the fit
corrects head rotations of a few tens of degrees.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .meshes_affectvlm import FaceMesh, MeshFormatError

if TYPE_CHECKING:
    from .icp_affectvlm import PairMoments
    from .nearest_affectvlm import PointGrid

# The sphere kept around the nose tip, in template units (the ICT model is in centimetres): 9 cm reaches the
# chin, the forehead and the front of the ears of an average adult face, as the 80-100 mm crops of 3D face
# recognition pipelines do.
DEFAULT_CROP_RADIUS = 9.0
# What the camera frames, in template units: the unit sphere of the renderer is put around the middle of the
# face's volume (a little above and 4 cm behind the nose tip), with a radius that lets the face fill a view.
DEFAULT_FRAME_CENTRE = (0.0, 0.5, -4.0)
DEFAULT_FRAME_RADIUS = 8.0
_MAX_FIT_POINTS = 3_000  # input vertices used for the fit (a random, seeded subset of larger meshes)
_COARSE_POINTS = 800  # of those, the ones the coarse search over initial scales uses
_SCALE_STARTS = (0.65, 0.85, 1.1, 1.4)  # initial scales, relative to the width-based guess
_COARSE_STEPS, _FINE_STEPS = 5, 30
_PROBE_STEPS = 2  # coarse steps every initial scale takes before all but the best are dropped
# A fit has settled when no template point moves this far in a step (template units: cm; a 96 px view shows
# about 0.2 cm per pixel, so this is under a tenth of a pixel).
_SETTLED = 0.01
_MIN_MATCHED = 0.15  # a fit must match at least this share of the template away from the scan's border


@dataclass(frozen=True)
class FaceAlignment:
    """The registration template and crop: what the processor saves so that remote code preprocesses alike.

    template: (K, 3) points of a neutral face in the canonical frame (nose tip at the origin, +z forward,
    y up); border: the indices of template points on its outline (where the template face ends); crop_radius: the kept sphere around the nose tip, in template units; frame_centre, frame_radius:
    the sphere that becomes the renderer's unit sphere; trim: the share of closest correspondences each ICP
    step keeps (the rest is hair, neck, holes, missing parts).
    """

    template: tuple[tuple[float, float, float], ...]
    border: tuple[int, ...] = ()
    crop_radius: float = DEFAULT_CROP_RADIUS
    frame_centre: tuple[float, float, float] = DEFAULT_FRAME_CENTRE
    frame_radius: float = DEFAULT_FRAME_RADIUS
    trim: float = 0.9

    @classmethod
    def from_points(cls, points: np.ndarray, **settings) -> "FaceAlignment":
        rounded = np.round(np.asarray(points, dtype=np.float64), 3)
        return cls(template=tuple(tuple(float(v) for v in row) for row in rounded), **settings)

    def to_dict(self) -> dict:
        return {"template": [list(row) for row in self.template], "border": list(self.border),
                "crop_radius": self.crop_radius,
                "frame_centre": list(self.frame_centre), "frame_radius": self.frame_radius, "trim": self.trim}

    @classmethod
    def from_dict(cls, data: dict) -> "FaceAlignment":
        return cls(template=tuple(tuple(float(v) for v in row) for row in data["template"]),
                   border=tuple(int(i) for i in data["border"]), crop_radius=float(data["crop_radius"]), frame_centre=tuple(map(float, data["frame_centre"])),
                   frame_radius=float(data["frame_radius"]), trim=float(data["trim"]))

    def to_frame(self, template_points: np.ndarray) -> np.ndarray:
        """Template-frame points -> the renderer's frame (the framed sphere becomes the unit sphere)."""
        return (template_points - np.asarray(self.frame_centre)) / self.frame_radius

    @cached_property
    def points(self) -> np.ndarray:
        return np.asarray(self.template, dtype=np.float64)

    @cached_property
    def border_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.template), dtype=bool)
        mask[list(self.border)] = True
        return mask

    @cached_property
    def width(self) -> float:
        low, high = np.percentile(self.points[:, 0], [2, 98])
        return float(high - low)


@dataclass(frozen=True)
class Similarity:
    """x_input = scale * rotation @ y_template + translation."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def to_template(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, dtype=np.float64) - self.translation) @ self.rotation / self.scale

    def to_input(self, points: np.ndarray) -> np.ndarray:
        return self.scale * points @ self.rotation.T + self.translation


def umeyama(pairs: PairMoments, scale: float | None = None) -> Similarity:
    """The least-squares similarity taking the pairs' source points onto their targets (Umeyama, 1991); with
    `scale` given, the best rotation and translation at that scale."""
    u, sigma, vt = np.linalg.svd(pairs.covariance)
    sign = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    if scale is None:
        variance = pairs.source_variance
        scale = float((sigma * np.diag(sign)).sum() / variance) if variance > 0 else 1.0
    return Similarity(scale, rotation, pairs.target_mean - scale * rotation @ pairs.source_mean)


def border_vertices(faces: np.ndarray, count: int) -> np.ndarray:
    """A mask of the vertices on a mesh's open border (edges used by one triangle): where a scan ends."""
    from .icp_affectvlm import open_border  # numba compiles on first use, not when the processor is imported

    return open_border(faces, count)


@dataclass(frozen=True)
class _Cloud:
    """Input points for the fit, a nearest-point search over them, and which of them lie on the scan's border."""

    points: np.ndarray
    border: np.ndarray

    @cached_property
    def grid(self) -> PointGrid:
        from .nearest_affectvlm import PointGrid  # numba compiles on first use, not when the processor is imported

        return PointGrid.build(self.points)

    def pairs(self, template: np.ndarray, fit: Similarity, trim: float) -> PairMoments | None:
        """Every template point placed by `fit` paired with its nearest point here. Pairs that end on the
        scan's border are dropped (they say only that the template goes on where the scan stopped), the rest
        trimmed to the `trim` closest; the input's extra surface (scalp, ears, neck) is never asked to match.
        None when less than `_MIN_MATCHED` of the template is matched away from the border."""
        from .icp_affectvlm import trimmed_pair_moments

        matches = self.grid.query(fit.to_input(template))
        return trimmed_pair_moments(template, self.points, self.border, matches, trim, _MIN_MATCHED)


def _icp_step(fit: Similarity, cloud: _Cloud, alignment: FaceAlignment,
              rigid: bool = False) -> tuple[Similarity, float]:
    """One step: the template's pairs with the input (`_Cloud.pairs`), and the similarity that fits them.
    Returns the refit and the pairs' RMS in template units; a start that matches too little of the template
    gets an infinite RMS. `rigid` keeps the scale."""
    pairs = cloud.pairs(alignment.points, fit, alignment.trim)
    if pairs is None:
        return fit, np.inf
    refit = umeyama(pairs, fit.scale if rigid else None)
    if not (np.isfinite(refit.scale) and refit.scale > 0):  # the pairs collapsed onto one input point
        return fit, np.inf
    return refit, pairs.rms / fit.scale


def _nose_guess(points: np.ndarray) -> np.ndarray:
    """The most forward region of an upright face facing +z: the median of its frontmost 0.3% of points."""
    front = points[points[:, 2] >= np.percentile(points[:, 2], 99.7)]
    return np.median(front, axis=0)


def _fit_clouds(vertices: np.ndarray, faces: np.ndarray, seed: int) -> tuple[_Cloud, _Cloud]:
    """A coarse and a fine subset of the vertices, each holding every border vertex it can."""
    border = border_vertices(faces, len(vertices))
    order = np.random.default_rng(seed).permutation(len(vertices))
    order = np.concatenate([order[border[order]], order[~border[order]]])  # border first, then at random
    clouds = []
    for limit in (_COARSE_POINTS, _MAX_FIT_POINTS):
        chosen = order[:limit]
        clouds.append(_Cloud(vertices[chosen], border[chosen]))
    return clouds[0], clouds[1]


def metric_scale(scale: float) -> float:
    """The power of ten nearest to a fitted scale (input units per template centimetre): scans come in
    metres, centimetres or millimetres. Fitted scales of partial scans are biased small (a partial surface
    slides inward at no cost), so the unit, not the fit, fixes the size; faces keep their true size."""
    return float(10.0 ** np.round(np.log10(scale)))


def fit_face(vertices: np.ndarray, faces: np.ndarray, alignment: FaceAlignment,
             seed: int = 0) -> tuple[Similarity, float]:
    """Register the template to a mesh; returns the similarity and its RMS (template units).

    A similarity fit from several initial scales finds the face and its units (each start takes
    `_PROBE_STEPS`, the best goes on to `_COARSE_STEPS`); a rigid fit at the metric scale of those units then
    places it.
    """
    points = np.asarray(vertices, dtype=np.float64)
    coarse, fine = _fit_clouds(points, faces, seed)
    low, high = np.percentile(points[:, 0], [2, 98])
    base_scale = max(float(high - low), 1e-12) / alignment.width
    nose = _nose_guess(points)
    starts = [_similarity_steps(Similarity(base_scale * factor, np.eye(3), nose.copy()), coarse, alignment,
                                _PROBE_STEPS) for factor in _SCALE_STARTS]
    rms, fit = min(starts, key=lambda start: start[0])
    rms, fit = _similarity_steps(fit, coarse, alignment, _COARSE_STEPS - _PROBE_STEPS)
    fit = Similarity(metric_scale(fit.scale), fit.rotation, fit.translation)
    return _refine(fit, fine, alignment)


def _similarity_steps(fit: Similarity, cloud: _Cloud, alignment: FaceAlignment, steps: int) -> tuple[float, Similarity]:
    """`steps` ICP steps that refit the scale too; the last step's RMS (infinite when none was taken)."""
    rms = np.inf
    for _ in range(steps):
        fit, rms = _icp_step(fit, cloud, alignment)
    return rms, fit


def _refine(fit: Similarity, cloud: _Cloud, alignment: FaceAlignment) -> tuple[Similarity, float]:
    """Rigid ICP steps until no template point moves by `_SETTLED` in a step (or the step budget ends)."""
    rms, placed = np.inf, fit.to_input(alignment.points)
    for _ in range(_FINE_STEPS):
        fit, rms = _icp_step(fit, cloud, alignment, rigid=True)
        moved, placed = placed, fit.to_input(alignment.points)
        if np.abs(placed - moved).max() < _SETTLED * fit.scale:
            break
    return fit, rms


def canonicalize_face(mesh: FaceMesh, alignment: FaceAlignment) -> FaceMesh:
    """The face of `mesh` in the renderer's frame, cropped to the sphere around the nose tip.

    Landmarks follow the vertices (those outside the sphere are kept: they are annotations, not surface).
    The fit (a `Similarity` from template to input) and its RMS are recorded in `metadata["alignment"]`.
    """
    fit, rms = fit_face(mesh.vertices, mesh.faces, alignment)
    aligned = fit.to_template(mesh.vertices)
    inside = np.linalg.norm(aligned, axis=1) < alignment.crop_radius
    landmarks = mesh.landmarks
    if landmarks is not None:
        landmarks = alignment.to_frame(fit.to_template(landmarks)).astype(np.float32)
    canonical = dataclasses.replace(mesh, vertices=alignment.to_frame(aligned).astype(np.float32), landmarks=landmarks,
                                    metadata={**mesh.metadata, "alignment": {"fit": fit, "rms": rms}})
    cropped = canonical.submesh(inside)
    if len(cropped.faces) == 0:
        raise MeshFormatError(f"{mesh.source}: no surface lies within the face region found around the nose tip")
    return cropped


__all__ = ["DEFAULT_CROP_RADIUS", "FaceAlignment", "Similarity", "canonicalize_face", "fit_face", "umeyama"]
