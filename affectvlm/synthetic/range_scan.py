"""A range scan of a mesh, as a Bosphorus-style scanner takes it: depth on a regular grid seen from the front,
with the colour image the scanner's camera would see, ready for the `.bnt` writer."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..io.bnt import BACKGROUND_ZMIN, RangeGrid
from ..model.meshes_affectvlm import FaceMesh
from .raster import rasterize


def mesh_to_grid(
    mesh: FaceMesh, spacing: float, image_name: str, margin: int = 2
) -> tuple[RangeGrid, Image.Image | None]:
    """Scan a mesh orthographically from the front (+z) on a regular x-y grid of `spacing` (file units).

    X and Y of a grid point are its position on the grid, Z the front-most surface there; U and V address the
    returned 2D image, which is the mesh's uv texture sampled on the same grid (None without a texture).
    """
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    low, high = vertices[:, :2].min(axis=0) - margin * spacing, vertices[:, :2].max(axis=0) + margin * spacing
    cols, rows = (np.ceil((high - low) / spacing).astype(int) + 1).tolist()
    cols += -cols % 4  # RGB image rows of a multiple of 4 bytes: GL uploads textures 4-byte aligned
    if rows > 65535 or cols > 65535:
        raise ValueError(f"a {rows} x {cols} grid does not fit a .bnt file; use a coarser spacing than {spacing}")
    pixel = np.column_stack([(vertices[:, 0] - low[0]) / spacing, (high[1] - vertices[:, 1]) / spacing])
    has_texture = mesh.texture is not None and mesh.uv is not None
    values = np.asarray(mesh.uv, dtype=np.float64) if has_texture else np.zeros((len(vertices), 2))
    raster = rasterize(pixel, vertices[:, 2], np.asarray(mesh.faces), (rows, cols), values)
    x_axis = low[0] + spacing * np.arange(cols)
    y_axis = high[1] - spacing * np.arange(rows)
    covered = raster.covered
    u_axis = (np.arange(cols) + 0.5) / cols
    v_axis = (np.arange(rows) + 0.5) / rows

    def plane(values: np.ndarray) -> np.ndarray:
        return np.where(covered, values, BACKGROUND_ZMIN)

    grid = RangeGrid(
        x=plane(np.broadcast_to(x_axis, (rows, cols))), y=plane(np.broadcast_to(y_axis[:, None], (rows, cols))),
        z=plane(raster.depth), u=plane(np.broadcast_to(u_axis, (rows, cols))),
        v=plane(np.broadcast_to(v_axis[:, None], (rows, cols))), zmin=BACKGROUND_ZMIN, image_name=image_name,
    )
    return grid, _image_on_grid(mesh, raster.values, covered) if has_texture else None


def _image_on_grid(mesh: FaceMesh, uv: np.ndarray, covered: np.ndarray) -> Image.Image:
    """The texture's colour at each grid point's uv (nearest texel); black where the grid is background."""
    texture = np.asarray(mesh.texture.convert("RGB"))
    height, width = texture.shape[:2]
    col = np.clip((uv[..., 0] * width).astype(int), 0, width - 1)
    row = np.clip(((1.0 - uv[..., 1]) * height).astype(int), 0, height - 1)
    return Image.fromarray(np.where(covered[..., None], texture[row, col], 0).astype(np.uint8))
