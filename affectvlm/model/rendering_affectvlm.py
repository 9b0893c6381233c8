"""Normalise face meshes and render them, many meshes x views per call, into the views the model sees.

Every backend draws the same thing: `render_batch` normalises each mesh (one function, `normalize_mesh`),
works out what each view paints on it (the shading formula, the normals' colours, the texture), and hands
these with the camera poses of `drawing_affectvlm` to a backend that only rasterises: "numba" (the default,
compiled, no system libraries), "cuda" (the same pictures drawn by CUDA kernels on a GPU) or "pyrender" (the
GL reference). The light comes from the camera, so every view is lit alike.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import torch

from .drawing_affectvlm import DrawableMesh, ViewSpec, camera_poses, depth_to_gray, parallel_map
from .meshes_affectvlm import FaceMesh, MeshFormatError

logger = logging.getLogger(__name__)

RENDER_MODES = ("shaded", "depth", "normals", "texture")

RENDER_BACKENDS = ("numba", "cuda", "pyrender")
DEFAULT_RENDER_BACKEND = "numba"
# "shaded" is Lambertian shading computed per vertex and drawn unlit: pyrender's own lit shader costs about
# 65 ms per 224 px view on Mesa's software rasteriser, unlit drawing about 15 ms, and at face-scan density
# per-vertex shading looks the same.
_ALBEDO = 0.85
_AMBIENT = 0.2

_texture_fallback_warned = False


def normalize_mesh(mesh: FaceMesh) -> FaceMesh:
    """Centre and scale a face robustly, so that every mesh meets the camera the same way.

    The centre is the midpoint of the 1st..99th percentile range per axis and the scale puts the 99th
    percentile of vertex distances at 1.0, so stray scan points move neither. Landmarks follow the vertices.
    Returns a new FaceMesh with new vertex and landmark arrays; the other fields are shared with the input.
    """
    from .rasterizer_affectvlm import robust_extent  # compiled: runs in the render pool's threads

    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    centre, radius = robust_extent(vertices)  # over 99% of the vertices coincide: the largest distance
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


def _effective_mode(mesh: FaceMesh, mode: str) -> str:
    if mode == "texture" and mesh.texture is None and mesh.vertex_colors is None:
        _warn_texture_fallback(mesh.source)
        return "shaded"
    return mode


def view_colors(mesh: FaceMesh, mode: str, poses: np.ndarray) -> DrawableMesh:
    """What a backend paints on an already normalised mesh in `mode` for each camera pose.

    "shaded": Lambertian light from the camera plus ambient, per vertex (at face-scan density it looks the
    same as per pixel); "normals": camera-space normals as n * 0.5 + 0.5; "texture": the unlit uv texture
    or vertex colours (a scan's texture already has its lighting); "depth": bare geometry.
    """
    drawable = DrawableMesh(mesh.vertices, mesh.faces, poses)
    if mode in ("shaded", "normals"):
        from .rasterizer_affectvlm import camera_normals, vertex_normals  # compiled: the slow steps of the shared part

        turned = camera_normals(vertex_normals(mesh.vertices, mesh.faces.astype(np.int64)), poses)
        if mode == "normals":
            drawable.colors = turned * 0.5 + 0.5
        else:
            level = _ALBEDO * (_AMBIENT + (1 - _AMBIENT) * np.clip(turned[..., 2], 0, 1))
            drawable.colors = np.repeat(level[..., None], 3, axis=-1)
    elif mode == "texture" and mesh.texture is not None:
        drawable.uv, drawable.texture = mesh.uv, np.asarray(mesh.texture.convert("RGB"))
    elif mode == "texture":
        colors = mesh.vertex_colors.astype(np.float32) / 255.0
        drawable.colors = np.broadcast_to(colors, (len(poses), *colors.shape))
    return drawable


def check_render_mode(mode: str) -> str:
    """The one check of a render mode name (config, processor and renderer all use it)."""
    if mode not in RENDER_MODES:
        raise ValueError(f"unknown render mode {mode!r}; expected one of {', '.join(RENDER_MODES)}")
    return mode


def check_backend(name: str) -> str:
    if name not in RENDER_BACKENDS:
        raise ValueError(f"unknown render backend {name!r}; expected one of {', '.join(RENDER_BACKENDS)}")
    return name


def _backend(name: str):
    """The backend's drawing function, imported on first use (static imports: remote code copies them)."""
    if check_backend(name) == "pyrender":
        from .pyrender_affectvlm import draw_pyrender

        return draw_pyrender
    if name == "cuda":
        from .cuda_rasterizer_affectvlm import draw_cuda

        return draw_cuda
    from .rasterizer_affectvlm import draw_numba

    return draw_numba


def render_batch(
    meshes: Sequence[FaceMesh],
    views: Sequence[ViewSpec] | Sequence[Sequence[ViewSpec]],
    mode: str = "shaded",
    image_size: int = 224,
    backend: str = DEFAULT_RENDER_BACKEND,
    normalized: bool = False,
) -> np.ndarray:
    """Render meshes into a (meshes, views, image_size, image_size, 3) uint8 array; raw meshes are normalised
    first, ones already in the unit frame (`normalized=True`, e.g. canonical face crops) are drawn as they are.

    Modes: "shaded" grey, smoothly lit geometry; "depth" nearer is brighter over a fixed range around the unit
    sphere; "normals" camera-space normals as (n * 0.5 + 0.5) * 255; "texture" the unlit uv texture or vertex
    colours, falling back to "shaded" (with one logged warning) when a mesh has neither. Background is 0.
    `views`: the same views for every mesh, or one list of views per mesh (as many for each).
    """
    return host_array(render_on_backend(meshes, views, mode, image_size, backend, normalized))


def render_on_backend(
    meshes: Sequence[FaceMesh],
    views: Sequence[ViewSpec] | Sequence[Sequence[ViewSpec]],
    mode: str = "shaded",
    image_size: int = 224,
    backend: str = DEFAULT_RENDER_BACKEND,
    normalized: bool = False,
) -> np.ndarray | torch.Tensor:
    """`render_batch`'s images where the backend drew them: a host array, or for "cuda" a tensor on the GPU
    (so training can render on its device)."""
    check_render_mode(mode)
    if image_size < 1:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size}")
    draw = _backend(backend)
    per_mesh = bool(views) and not isinstance(views[0], ViewSpec)
    poses = [camera_poses(each) for each in views] if per_mesh else [camera_poses(views)] * len(meshes)
    if len(poses) != len(meshes) or len({len(each) for each in poses}) > 1:
        raise ValueError(f"per-mesh views: need one list of views per mesh ({len(meshes)}), all of one length")
    shape = (len(meshes), len(poses[0]) if poses else len(views), image_size, image_size, 3)
    images = None
    unit = (lambda mesh: mesh) if normalized else normalize_mesh
    modes = [_effective_mode(mesh, mode) for mesh in meshes] if np.prod(shape) else []
    for drawn_mode in sorted(set(modes)):  # one backend call per mode: depth draws geometry only
        chosen = [index for index, each in enumerate(modes) if each == drawn_mode]
        # one job per mesh from normalising to what each view paints: no wait for the slowest between steps
        drawables = parallel_map(lambda index: view_colors(unit(meshes[index]), drawn_mode, poses[index]), chosen)
        drawn = draw(drawables, image_size, drawn_mode == "depth")
        drawn = depth_to_gray(drawn)[..., None] if drawn_mode == "depth" else drawn
        images = _zeros_like(drawn, shape) if images is None else images
        images[chosen] = drawn
    return np.zeros(shape, np.uint8) if images is None else images


def host_array(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Images as a numpy array in host memory (copied back from a GPU)."""
    return images.cpu().numpy() if isinstance(images, torch.Tensor) else images


def _zeros_like(drawn: np.ndarray | torch.Tensor, shape: tuple[int, ...]) -> np.ndarray | torch.Tensor:
    """Black uint8 images beside what a backend drew: a host array, or a tensor on its device (numpy on the
    CPU keeps torch's thread pool out of rendering, which a forked child could not use)."""
    if isinstance(drawn, torch.Tensor):
        return torch.zeros(shape, dtype=torch.uint8, device=drawn.device)
    return np.zeros(shape, np.uint8)


def render_views(
    mesh: FaceMesh, views: Sequence[ViewSpec], mode: str = "shaded", image_size: int = 224,
    backend: str = DEFAULT_RENDER_BACKEND, normalized: bool = False,
) -> list[np.ndarray]:
    """One mesh rendered into one (image_size, image_size, 3) uint8 image per view (see `render_batch`)."""
    return list(render_batch([mesh], views, mode, image_size, backend, normalized)[0])
