"""The reference render backend: pyrender over EGL (Mesa's llvmpipe), one view at a time.

Kept to check the default backend against (`render_backend="pyrender"`); it needs the system's EGL and a GL
context per (process, thread).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before anything imports OpenGL: no display needed
# Mesa's software rasteriser (llvmpipe) otherwise starts worker threads, which a forked child lacks: a child
# that renders after its parent did would hang. Single-threaded it is no slower for views this small.
os.environ.setdefault("LP_NUM_THREADS", "0")

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .drawing_affectvlm import YFOV, Z_FAR, Z_NEAR, DrawableMesh

# OffscreenRenderers by (pid, thread, size): a GL context belongs to one thread, and a forked child must not
# reuse its parent's. Kept at module level so that no picklable object ever holds one.
_RENDERERS: dict[tuple[int, int, int], Any] = {}


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


def _primitive(pyrender: Any, mesh: DrawableMesh, colors: np.ndarray | None) -> Any:
    """An unlit pyrender mesh: vertex colours, or the uv texture, or bare geometry (depth)."""
    material = pyrender.MetallicRoughnessMaterial(baseColorFactor=(1.0, 1.0, 1.0, 1.0), doubleSided=True)
    extra: dict[str, Any] = {}
    if colors is not None:
        extra["color_0"] = colors
    elif mesh.texture is not None:
        extra["texcoord_0"] = mesh.uv
        # RGBA: an RGB upload whose row is not a multiple of 4 bytes renders sheared (GL unpack alignment)
        rgba = np.concatenate([mesh.texture, np.full(mesh.texture.shape[:2] + (1,), 255, np.uint8)], axis=2)
        material.baseColorTexture = pyrender.Texture(source=rgba, source_channels="RGBA")
    primitive = pyrender.Primitive(positions=mesh.vertices, indices=mesh.faces, material=material, **extra)
    return pyrender.Mesh([primitive])


def _draw_mesh(mesh: DrawableMesh, image_size: int, depth_only: bool) -> list[np.ndarray]:
    pyrender = _pyrender()
    renderer = _renderer(image_size)
    flags = pyrender.RenderFlags.DEPTH_ONLY if depth_only else pyrender.RenderFlags.FLAT
    scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 1.0))
    camera = scene.add(pyrender.PerspectiveCamera(yfov=YFOV, znear=Z_NEAR, zfar=Z_FAR, aspectRatio=1.0))
    node, images = None, []
    for view, pose in enumerate(mesh.poses):
        scene.set_pose(camera, pose)
        if node is None or mesh.colors is not None:  # per-view colours: a new mesh for each view
            if node is not None:
                scene.remove_node(node)
            node = scene.add(_primitive(pyrender, mesh, None if mesh.colors is None else mesh.colors[view]))
        if depth_only:
            images.append(renderer.render(scene, flags).astype(np.float32))
        else:
            images.append(np.array(renderer.render(scene, flags)[0][..., :3]))
    return images


def draw_pyrender(meshes: Sequence[DrawableMesh], image_size: int, depth_only: bool) -> np.ndarray:
    """(M, V, H, W, 3) uint8 images, or (M, V, H, W) float32 linear depth (0: background)."""
    views = len(meshes[0].poses) if meshes else 0
    shape = (len(meshes), views, image_size, image_size) + (() if depth_only else (3,))
    if not len(meshes) or not views:
        return np.zeros(shape, np.float32 if depth_only else np.uint8)
    return np.stack([np.stack(_draw_mesh(mesh, image_size, depth_only)) for mesh in meshes])
