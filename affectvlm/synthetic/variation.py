"""How far synthetic faces stray from a clean model face, and the scanner effects that do it: head pose,
noise, and crops (a face region, a plane cut, holes) that leave a partial scan."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .face_model import face_model


@dataclass(frozen=True)
class Variation:
    """How far one synthetic face strays from its recipe and from a clean model face, so that the task is not
    trivially separable and the faces look like scans.

    Lengths are in the model's units (centimetres); angles in degrees; every spread is a standard deviation.
    """

    intensity_jitter: float = 0.2  # multiplicative spread of each action unit's activation
    asymmetry: float = 0.25  # spread of the left/right imbalance of paired shapes
    extra_unit_rate: float = 0.6  # expected number of extra action units per face (distractors or weak others)
    extra_unit_max: float = 0.35  # a distractor's activation is uniform in (0, max); another emotion's unit half
    head_pose: float = 4.0  # yaw, pitch and roll spread
    scan_noise: float = 0.02  # per-vertex Gaussian noise
    crop_probability: float = 0.25  # chance that a plane cuts off part of the face
    crop_max_fraction: float = 0.2  # at most this fraction of the face's depth along the cut direction
    region_crop_probability: float = 0.0  # chance that only a face region (a rough ellipsoid) is kept
    hole_rate: float = 0.0  # expected number of holes (missing patches, as under specular or dark skin)
    recipe_blending: float = 0.0  # share of random-recipe faces that blend two recipes of their emotion
    partial_recipes: float = 0.0  # share of random-recipe faces that show their recipe on one half of the face
    eye_fill: float = 0.0  # chance that the eyes are surface, as scanned, not the model's holes
    mouth_fill: float = 0.0  # chance that the lips' slit is surface: closed lips, or teeth behind an open mouth
    shape_warp: float = 0.0  # spread of broad random bumps that move the face's shape out of the ICT identity space


WARP_BUMPS = 6  # bumps per warped face: enough to reshape brows, cheeks, nose and chin independently

NO_VARIATION = Variation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
DEFAULT_VARIATION = Variation()
# Training faces that look like scans: face regions of random extent with rough borders, holes, cut chins
# and foreheads, poses up to about +-15 degrees; a third of them stay whole heads.
SCAN_VARIATION = Variation(intensity_jitter=0.25, asymmetry=0.25, extra_unit_rate=0.8, extra_unit_max=0.4,
                           head_pose=6.0, scan_noise=0.03, crop_probability=0.3, crop_max_fraction=0.25,
                           region_crop_probability=0.65, hole_rate=0.7)
# The same scans with more ways to make each emotion: half the random-recipe faces blend two recipes of their
# emotion (the default model's fine-tuning faces).
MIXED_SCAN_VARIATION = dataclasses.replace(SCAN_VARIATION, recipe_blending=0.5)
# And a third of them show their recipe on the upper or the lower half of the face only.
PARTIAL_SCAN_VARIATION = dataclasses.replace(MIXED_SCAN_VARIATION, partial_recipes=0.3)

def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation matrix from degrees: yaw about y, pitch about x, roll about z."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return (ry @ rx @ rz).astype(np.float32)


def _plane_cut(vertices: np.ndarray, rng: np.random.Generator, max_fraction: float) -> np.ndarray:
    """Which vertices a random plane near the border keeps, as a scanner's field of view or hair would cut."""
    direction = rng.standard_normal(3) * np.array([1.0, 1.0, 0.2])  # mostly sideways/up/down, not depth
    direction /= np.linalg.norm(direction)
    depth = vertices @ direction
    low, high = depth.min(), depth.max()
    return depth < high - rng.uniform(0.05, max_fraction) * (high - low)


def _face_region(vertices: np.ndarray, nose: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which vertices a face-region scan keeps: a rough ellipsoid around the nose tip, 6-11 cm across each
    way and 5-12 cm deep, its border wobbling as a scan's does."""
    offset = vertices - nose
    radii = np.array([rng.uniform(6.5, 10.5), 0.0, rng.uniform(5.0, 12.0)])
    up, down = rng.uniform(6.5, 10.5), rng.uniform(7.5, 11.0)
    radii_y = np.where(offset[:, 1] > 0, up, down)
    scaled = (offset[:, 0] / radii[0]) ** 2 + (offset[:, 1] / radii_y) ** 2 + (offset[:, 2] / radii[2]) ** 2
    angle = np.arctan2(offset[:, 1], offset[:, 0])
    wobble = sum(rng.uniform(0, 0.08) * np.sin(k * angle + rng.uniform(0, 2 * np.pi)) for k in (3, 5, 9))
    return scaled < (1.0 + wobble) ** 2


def _near_face(vertices: np.ndarray, nose: np.ndarray) -> np.ndarray:
    """Indices of the vertices within 9 cm of the nose tip: the face, not the scalp, ears or neck, where holes
    and warps are placed."""
    return np.flatnonzero(np.linalg.norm(vertices - nose, axis=1) < 9.0)


def _holes(vertices: np.ndarray, nose: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Which vertices survive a few holes of 0.4-1.5 cm radius placed on the face (not on the nose tip)."""
    keep = np.ones(len(vertices), dtype=bool)
    near_face = _near_face(vertices, nose)
    for _ in range(rng.poisson(rate)):
        centre = vertices[near_face[rng.integers(len(near_face))]]
        if np.linalg.norm(centre - nose) < 1.5:
            continue
        keep &= np.linalg.norm(vertices - centre, axis=1) > rng.uniform(0.4, 1.5)
    return keep


def shape_warp(identity: np.ndarray, variation: Variation, rng: np.random.Generator) -> np.ndarray:
    """A smooth displacement of the face (a few Gaussian bumps of 2-5 cm radius, each moved by `shape_warp` cm
    per axis), added under the expression: people and other face models have shapes the ICT model's 100
    identity components do not span, and a model that only saw those learns the ICT face's own look."""
    if variation.shape_warp <= 0:
        return np.zeros_like(identity)
    near_face = _near_face(identity, identity[face_model().landmarks68[30]])
    displacement = np.zeros_like(identity)
    for centre in identity[rng.choice(near_face, size=WARP_BUMPS)]:
        weight = np.exp(-np.sum((identity - centre) ** 2, axis=1) / (2 * rng.uniform(2.0, 5.0) ** 2))
        displacement += weight[:, None] * rng.normal(0.0, variation.shape_warp, 3)
    return displacement


def scan_mask(vertices: np.ndarray, variation: Variation, rng: np.random.Generator) -> np.ndarray | None:
    """The vertices a simulated scan keeps (region, plane cut, holes), or None when it keeps them all."""
    nose = vertices[face_model().landmarks68[30]]
    keep = np.ones(len(vertices), dtype=bool)
    if variation.region_crop_probability > 0 and rng.random() < variation.region_crop_probability:
        keep &= _face_region(vertices, nose, rng)
    if variation.crop_probability > 0 and rng.random() < variation.crop_probability:
        keep &= _plane_cut(vertices, rng, variation.crop_max_fraction)
    if variation.hole_rate > 0:
        keep &= _holes(vertices, nose, rng, variation.hole_rate)
    return None if keep.all() else keep


def pose_and_scan(
    vertices: np.ndarray, variation: Variation, rng: np.random.Generator, pose: tuple[float, float, float] | None
) -> np.ndarray:
    """Rotate about the face's centre by a small head pose, then add scanner noise."""
    pose = pose if pose is not None else tuple(variation.head_pose * rng.standard_normal(3))
    centre = vertices.mean(axis=0)
    vertices = (vertices - centre) @ rotation_matrix(*pose).T + centre
    if variation.scan_noise > 0:
        vertices = vertices + variation.scan_noise * rng.standard_normal(vertices.shape)
    return vertices.astype(np.float32)


