"""What every render backend shares: the camera convention (views on a sphere, field of view, clip and
depth ranges, the pixel grid with its anti-aliasing samples) and the mesh it is handed to draw.

The face looks along +z with y up and has unit radius after normalisation; the camera sits on a sphere of
radius `CAMERA_DISTANCE` looking at the origin.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

CAMERA_DISTANCE = 2.8
# Frame a sphere slightly larger than the unit radius: 1% of the vertices lie beyond it after normalisation.
YFOV = 2 * math.asin(1.1 / CAMERA_DISTANCE)
# Clip planes: what lies nearer or farther than these is not drawn.
Z_NEAR, Z_FAR = CAMERA_DISTANCE - 2.0, CAMERA_DISTANCE + 2.0
# Fixed depth range around the unit sphere, so depth images of different meshes are comparable.
DEPTH_NEAR, DEPTH_FAR = CAMERA_DISTANCE - 1.0, CAMERA_DISTANCE + 1.0
# Four samples per pixel at the standard 4x MSAA positions that the GL reference (Mesa) resolves: in GL's
# window coordinates (y up) (0.375, 0.125), (0.875, 0.375), (0.125, 0.625), (0.625, 0.875); here as (x, y)
# offsets from the pixel's top-left corner with y pointing down the image.
PIXEL_SAMPLES = np.array([[0.375, 0.875], [0.875, 0.625], [0.125, 0.375], [0.625, 0.125]], np.float32)


@dataclass
class DrawableMesh:
    """A normalised mesh, the cameras to draw it from and what to paint on it; backends only rasterise and
    interpolate these.

    poses: (V, 4, 4) camera-to-world matrices. colors: (V, N, 3) float in [0, 1], per view (shading and normals depend on the camera), or None when the
    mesh is drawn with its uv texture or as depth only. texture: (h, w, 3) uint8, sampled at uv, v up.
    """

    vertices: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (F, 3) int
    poses: np.ndarray  # (V, 4, 4)
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None


@dataclass(frozen=True)
class ViewSpec:
    """A camera position around the normalised face, in degrees.

    Positive yaw moves the camera towards +x, the subject's left cheek; positive pitch moves it up (+y);
    positive roll turns the image counter-clockwise about the viewing axis.
    """

    name: str
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def __post_init__(self) -> None:
        """The one check of a camera's angles (the model config builds its views through it): at pitch +-90 the
        camera looks straight down the up axis and has no defined image orientation."""
        if not all(math.isfinite(angle) for angle in (self.yaw, self.pitch, self.roll)):
            raise ValueError(f"view {self.name!r}: angles must be finite, got {self.yaw}, {self.pitch}, {self.roll}")
        if not -90 < self.pitch < 90:
            raise ValueError(f"view {self.name!r}: pitch must lie strictly between -90 and 90 degrees, got {self.pitch}")


def camera_pose(view: ViewSpec) -> np.ndarray:
    """Camera-to-world matrix on the sphere at (yaw, pitch), looking at the origin with y up, rolled by roll."""
    yaw, pitch, roll = math.radians(view.yaw), math.radians(view.pitch), math.radians(view.roll)
    backward = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    right = np.cross([0.0, 1.0, 0.0], backward)
    right /= np.linalg.norm(right)
    up = np.cross(backward, right)
    # rolling the camera clockwise turns the picture counter-clockwise
    right, up = math.cos(roll) * right - math.sin(roll) * up, math.sin(roll) * right + math.cos(roll) * up
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, up, backward], axis=1)
    pose[:3, 3] = CAMERA_DISTANCE * backward
    return pose


def camera_poses(views: Sequence[ViewSpec]) -> np.ndarray:
    """(V, 4, 4) camera-to-world matrices, one per view."""
    return np.stack([camera_pose(view) for view in views]) if views else np.zeros((0, 4, 4))


def depth_to_gray(depth: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Linear depth (0 = background) -> uint8 grey, nearer brighter (1..255), background 0: a numpy array, or a
    tensor on the depth's device (the same float32 arithmetic and round-half-even in both)."""
    level = 1 + 254 * (DEPTH_FAR - depth) / (DEPTH_FAR - DEPTH_NEAR)
    gray = level.round().clip(1, 255) * (depth > 0)
    return gray.to(torch.uint8) if isinstance(gray, torch.Tensor) else gray.astype(np.uint8)


_POOLS: dict[tuple[int, str], ThreadPoolExecutor] = {}  # per process: a forked child must not use its parent's threads
_POOL_LOCK = threading.Lock()


def _pool(name: str) -> ThreadPoolExecutor:
    """This process's pool `name` of one thread per core, created on first use."""
    with _POOL_LOCK:
        pool = _POOLS.get((os.getpid(), name))
        if pool is None:
            pool = _POOLS[os.getpid(), name] = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix=name)
    return pool


def parallel_map(function: Callable, items: Sequence) -> list:
    """`function` over `items` in this process's pool of one thread per core (the heavy steps release the
    GIL), in order; in the calling thread when there is one item or one core."""
    if len(items) <= 1 or (os.cpu_count() or 1) == 1:
        return [function(item) for item in items]
    return list(_pool("render").map(function, items))


def in_background(function: Callable) -> Future:
    """`function()` started beside the caller, in a pool of its own (so it never waits behind render jobs
    nor holds a thread they need); its result or exception comes from the returned Future."""
    return _pool("background").submit(function)
