"""Turn a synthetic face into what a 3D face scanner delivers: millimetres, uv coordinates and a colour texture,
so that the writers of real dataset formats have every part those formats store.

The texture is a skin tone shaded by the surface's facing (light from the viewer), baked into a planar (x, y)
projection: it carries the geometry's shading, no real skin detail. The tone is drawn from the subject seed and
is unrelated to the synthetic ethnicity label.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from ..model.meshes_affectvlm import FaceMesh
from .raster import rasterize

MILLIMETRES_PER_CENTIMETRE = 10.0  # the synthetic model is in centimetres, scanners write millimetres
SKIN_TONES = ((236, 192, 160), (224, 172, 140), (198, 134, 103), (161, 102, 72), (141, 85, 58), (110, 70, 48))
_AMBIENT = 0.35
_UV_MARGIN = 0.02


def skin_tone(subject_seed: int) -> np.ndarray:
    """An RGB skin tone (0..1) fixed by the subject seed."""
    rng = np.random.default_rng([subject_seed, 11])
    return np.asarray(SKIN_TONES[rng.integers(len(SKIN_TONES))], dtype=np.float64) / 255


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (zero for vertices no triangle uses)."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


def shaded_skin(vertices: np.ndarray, faces: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """Per-vertex RGB (0..1): the tone lit from the viewer (+z), with some ambient light."""
    facing = np.clip(vertex_normals(vertices, faces)[:, 2], 0.0, 1.0)
    return tone[None, :] * (_AMBIENT + (1 - _AMBIENT) * facing[:, None])


def planar_uv(vertices: np.ndarray) -> np.ndarray:
    """uv (origin bottom-left, as VRML and OBJ) from x and y over the face's extent, with a small margin."""
    low, high = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    span = np.maximum(high - low, 1e-9)
    return (_UV_MARGIN + (1 - 2 * _UV_MARGIN) * (vertices[:, :2] - low) / span).astype(np.float32)


def bake_texture(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, colors: np.ndarray, size: int) -> Image.Image:
    """A size x size RGB image holding the per-vertex colours at their uv; texels outside the face get the
    mean colour so that filtering at the border does not pull in black."""
    texel = np.stack([uv[:, 0] * size - 0.5, (1 - uv[:, 1]) * size - 0.5], axis=1)
    raster = rasterize(texel, vertices[:, 2], faces, (size, size), colors)
    image = np.where(raster.covered[..., None], raster.values, colors.mean(axis=0))
    return Image.fromarray(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))


def textured_scan(mesh: FaceMesh, subject_seed: int, texture_size: int = 256) -> FaceMesh:
    """The mesh in millimetres with planar uv and a baked skin texture; landmarks are scaled alike."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64) * MILLIMETRES_PER_CENTIMETRE
    faces = np.asarray(mesh.faces, dtype=np.int64)
    uv = planar_uv(vertices)
    texture = bake_texture(vertices, faces, uv, shaded_skin(vertices, faces, skin_tone(subject_seed)), texture_size)
    landmarks = None if mesh.landmarks is None else np.asarray(mesh.landmarks) * MILLIMETRES_PER_CENTIMETRE
    return dataclasses.replace(
        mesh, vertices=vertices.astype(np.float32), uv=uv, texture=texture, landmarks=landmarks,
        metadata=dict(mesh.metadata),
    )
