"""Normalise face meshes and render them headlessly (pyrender over EGL) into the views the model sees.

One convention for every mode: the face looks along +z with y up, is normalised to unit radius, and the
camera sits on a sphere of radius `_CAMERA_DISTANCE` looking at the origin, with the light coming from the
camera so that every view is lit alike.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before anything imports OpenGL: no display needed
# Mesa's software rasteriser (llvmpipe) otherwise starts worker threads, which a forked child lacks: a child
# that renders after its parent did would hang. Single-threaded it is no slower for views this small.
os.environ.setdefault("LP_NUM_THREADS", "0")

import dataclasses
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh

from .meshes_affectvlm import FaceMesh, MeshFormatError

logger = logging.getLogger(__name__)

RENDER_MODES = ("shaded", "depth", "normals", "texture")

_CAMERA_DISTANCE = 2.8
# Frame a sphere slightly larger than the unit radius: 1% of the vertices lie beyond it after normalisation.
_YFOV = 2 * math.asin(1.1 / _CAMERA_DISTANCE)
# Fixed depth range around the unit sphere, so depth images of different meshes are comparable.
_DEPTH_NEAR, _DEPTH_FAR = _CAMERA_DISTANCE - 1.0, _CAMERA_DISTANCE + 1.0
# "shaded" is Lambertian shading computed per vertex and drawn unlit: pyrender's own lit shader costs about
# 65 ms per 224 px view on Mesa's software rasteriser, unlit drawing about 15 ms, and at face-scan density
# per-vertex shading looks the same.
_ALBEDO = 0.85
_AMBIENT = 0.2

# OffscreenRenderers by (pid, thread, size): a GL context belongs to one thread, and a forked child must not
# reuse its parent's. Kept at module level so that no picklable object ever holds one.
_RENDERERS: dict[tuple[int, int, int], Any] = {}
_texture_fallback_warned = False


@dataclass(frozen=True)
class ViewSpec:
    """A camera position around the normalised face, in degrees.

    Positive yaw moves the camera towards +x, the subject's left cheek; positive pitch moves it up (+y).
    """

    name: str
    yaw: float = 0.0
    pitch: float = 0.0


def normalize_mesh(mesh: FaceMesh) -> FaceMesh:
    """Centre and scale a face robustly, so that every mesh meets the camera the same way.

    The centre is the midpoint of the 1st..99th percentile range per axis and the scale puts the 99th
    percentile of vertex distances at 1.0, so stray scan points move neither. Landmarks follow the vertices.
    Returns a new FaceMesh with new vertex and landmark arrays; the other fields are shared with the input.
    """
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    low, high = np.percentile(vertices, [1, 99], axis=0)
    centre = (low + high) / 2
    distances = np.linalg.norm(vertices - centre, axis=1)
    radius = np.percentile(distances, 99)
    if radius <= 0:  # over 99% of the vertices coincide
        radius = distances.max()
    if not (np.isfinite(radius) and radius > 0):
        raise MeshFormatError(f"{mesh.source}: cannot normalise a mesh of extent {radius!r}")
    landmarks = mesh.landmarks
    if landmarks is not None:
        landmarks = ((np.asarray(landmarks, dtype=np.float64) - centre) / radius).astype(np.float32)
    return dataclasses.replace(
        mesh,
        vertices=((vertices - centre) / radius).astype(np.float32),
        landmarks=landmarks,
        metadata=dict(mesh.metadata),
    )


def _pyrender() -> Any:
    """Import pyrender on first use, so importing this module never touches OpenGL."""
    if not hasattr(np, "infty"):
        np.infty = np.inf  # pyrender 0.1.45 still reads np.infty, which numpy 2 removed
    import pyrender

    return pyrender


def _renderer(image_size: int) -> Any:
    """This process's and this thread's renderer for `image_size`, created on first use."""
    key = (os.getpid(), threading.get_ident(), image_size)
    renderer = _RENDERERS.get(key)
    if renderer is None:
        renderer = _RENDERERS[key] = _pyrender().OffscreenRenderer(image_size, image_size)
    return renderer


def _camera_pose(view: ViewSpec) -> np.ndarray:
    """Camera-to-world matrix on the sphere at (yaw, pitch), looking at the origin with y up."""
    if not -90 < view.pitch < 90:
        raise ValueError(f"view {view.name!r}: pitch must lie strictly between -90 and 90 degrees")
    yaw, pitch = math.radians(view.yaw), math.radians(view.pitch)
    backward = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    right = np.cross([0.0, 1.0, 0.0], backward)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, np.cross(backward, right), backward], axis=1)
    pose[:3, 3] = _CAMERA_DISTANCE * backward
    return pose


def _depth_to_uint8(depth: np.ndarray) -> np.ndarray:
    """Linear depth -> 3-channel uint8 with nearer brighter (1..255) and background 0."""
    level = 1 + 254 * (_DEPTH_FAR - depth) / (_DEPTH_FAR - _DEPTH_NEAR)
    gray = np.where(depth > 0, np.clip(np.rint(level), 1, 255), 0).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def _warn_texture_fallback(source: str) -> None:
    """Say once per process that 'texture' mode fell back to 'shaded'."""
    global _texture_fallback_warned
    if not _texture_fallback_warned:
        _texture_fallback_warned = True
        logger.warning(
            "%s has neither a uv texture nor vertex colours; 'texture' mode renders it 'shaded' "
            "(this warning is shown once)",
            source,
        )


def _pyrender_mesh(
    pyrender: Any, mesh: FaceMesh, mode: str, normals: np.ndarray | None, pose: np.ndarray
) -> Any:
    """The unlit pyrender mesh for `mode` ('depth' needs bare geometry); 'shaded' and 'normals' colour the
    vertices for the camera at `pose`."""
    material = pyrender.MetallicRoughnessMaterial(baseColorFactor=(1.0, 1.0, 1.0, 1.0), doubleSided=True)
    extra: dict[str, Any] = {}
    if mode in ("shaded", "normals"):
        camera_normals = normals @ pose[:3, :3]
        if mode == "normals":
            extra["color_0"] = camera_normals * 0.5 + 0.5
        else:  # Lambertian light from the camera plus ambient, so every view is lit alike
            level = _ALBEDO * (_AMBIENT + (1 - _AMBIENT) * np.clip(camera_normals[:, 2], 0, 1))
            extra["color_0"] = np.repeat(level[:, None], 3, axis=1)
    elif mode == "texture" and mesh.texture is not None:  # unlit: a scan's texture already has its lighting
        extra["texcoord_0"] = mesh.uv
        # RGBA: an RGB upload whose row is not a multiple of 4 bytes renders sheared (GL unpack alignment)
        rgba = np.asarray(mesh.texture.convert("RGBA"))
        material.baseColorTexture = pyrender.Texture(source=rgba, source_channels="RGBA")
    elif mode == "texture":
        extra["color_0"] = mesh.vertex_colors
    primitive = pyrender.Primitive(positions=mesh.vertices, indices=mesh.faces, material=material, **extra)
    return pyrender.Mesh([primitive])


def render_views(
    mesh: FaceMesh, views: Sequence[ViewSpec], mode: str = "shaded", image_size: int = 224
) -> list[np.ndarray]:
    """Render a raw (not yet normalised) mesh into one (image_size, image_size, 3) uint8 image per view.

    Modes: "shaded" grey, smoothly lit geometry; "depth" nearer is brighter over a fixed range around the unit
    sphere; "normals" camera-space normals as (n * 0.5 + 0.5) * 255; "texture" the unlit uv texture or vertex
    colours, falling back to "shaded" (with one logged warning) when the mesh has neither. Background is 0.
    """
    if mode not in RENDER_MODES:
        raise ValueError(f"unknown render mode {mode!r}; expected one of {', '.join(RENDER_MODES)}")
    if image_size < 1:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size}")
    poses = [_camera_pose(view) for view in views]
    mesh = normalize_mesh(mesh)
    if mode == "texture" and mesh.texture is None and mesh.vertex_colors is None:
        _warn_texture_fallback(mesh.source)
        mode = "shaded"
    pyrender = _pyrender()
    renderer = _renderer(image_size)
    flags = pyrender.RenderFlags.DEPTH_ONLY if mode == "depth" else pyrender.RenderFlags.FLAT
    normals = None
    if mode in ("shaded", "normals"):
        normals = np.asarray(trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).vertex_normals)

    scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 1.0))
    camera = scene.add(
        pyrender.PerspectiveCamera(
            yfov=_YFOV, znear=_CAMERA_DISTANCE - 2.0, zfar=_CAMERA_DISTANCE + 2.0, aspectRatio=1.0
        )
    )
    mesh_node = None
    images = []
    for pose in poses:
        scene.set_pose(camera, pose)
        if mesh_node is None or mode in ("shaded", "normals"):
            if mesh_node is not None:
                scene.remove_node(mesh_node)
            mesh_node = scene.add(_pyrender_mesh(pyrender, mesh, mode, normals, pose))
        if mode == "depth":
            images.append(_depth_to_uint8(renderer.render(scene, flags)))
        else:
            color, _ = renderer.render(scene, flags)
            images.append(np.array(color[..., :3]))
    return images
