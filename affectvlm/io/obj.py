"""Wavefront OBJ writing with a uv texture (BP4D stores its 3D frames so); reading is trimesh's, via load_mesh."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..model.meshes_affectvlm import FaceMesh


def _block(row: str, values: np.ndarray) -> str:
    """One formatted line per row of `values` (`row` holds one % field per column)."""
    return "\n".join([row] * len(values)) % tuple(values.ravel().tolist())


def write_obj(path: str | Path, mesh: FaceMesh, texture_path: str | Path | None = None) -> None:
    """Write `path` (.obj); with `texture_path` and a textured mesh also the image and a .mtl next to the obj.

    Texture coordinates are written per vertex (`f a/a b/b c/c`), so reading keeps the vertex order.
    """
    path = Path(path)
    faces = np.asarray(mesh.faces, dtype=np.int64) + 1
    textured = texture_path is not None and mesh.texture is not None and mesh.uv is not None
    parts = ["# written by affectvlm"]
    if textured:
        texture_path = Path(texture_path)
        mesh.texture.convert("RGB").save(texture_path)
        material = path.with_suffix(".mtl")
        material.write_text(f"newmtl face\nKd 1 1 1\nmap_Kd {texture_path.name}\n", encoding="utf-8")
        parts += [f"mtllib {material.name}", "usemtl face"]
    parts.append(_block("v %.4f %.4f %.4f", np.asarray(mesh.vertices)))
    if textured:
        parts.append(_block("vt %.6f %.6f", np.asarray(mesh.uv)))
        parts.append(_block("f %d/%d %d/%d %d/%d", np.repeat(faces, 2, axis=1)))
    else:
        parts.append(_block("f %d %d %d", faces))
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
