"""Bosphorus `.bnt` range scans: reader (grid -> triangle mesh) and writer (grid -> file).

The layout, little-endian, as in the database's own `read_bntfile.m` (Savran, 2008) and the Python ports of it:
uint16 rows, uint16 cols, float64 zmin, uint16 length + that many characters (the file name of the 2D colour
image), uint32 n (= 5 * rows * cols), then n float64 as five planes X, Y, Z, U, V of rows * cols values each.
Each plane is a row-major grid stored upside down: the first stored row is the bottom of the face. A grid point
whose Z equals zmin is background (a synthetic range scan puts zmin in all five planes there). U and V are the point's
normalised (0..1) coordinates in the 2D image; we take V as measured from the image's top, image-style, and
convert it to a FaceMesh uv measured from the bottom. Units are millimetres in the real data.

The reader triangulates the valid grid: two triangles per cell whose four corners are valid, one triangle for a
cell with exactly three; background is dropped; the triangles are wound to face +z (the scanner: depth grows
towards it, zmin is the far background) whichever way the grid's y runs. The 2D image is loaded when it lies next to the file (missing:
a warning, geometry still read).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

import numpy as np
from PIL import Image

from ..model.meshes_affectvlm import FaceMesh, MeshFormatError

logger = logging.getLogger(__name__)

BACKGROUND_ZMIN = -1.0e9
_PLANES = ("x", "y", "z", "u", "v")


@dataclass(frozen=True)
class RangeGrid:
    """A range scan as five (rows, cols) planes, row 0 at the top of the face, and its background value."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    u: np.ndarray
    v: np.ndarray
    zmin: float
    image_name: str

    @property
    def valid(self) -> np.ndarray:
        return self.z != self.zmin


def read_bnt_grid(path: str | Path) -> RangeGrid:
    """Parse a .bnt file into its grid planes, or raise MeshFormatError saying what is wrong with it."""
    path = Path(path)
    data = path.read_bytes()
    source = str(path)

    def take(offset: int, fmt: str, what: str) -> tuple:
        end = offset + struct.calcsize(fmt)
        if end > len(data):
            raise MeshFormatError(f"{source}: truncated .bnt file ({len(data)} bytes) while reading the {what}")
        return struct.unpack_from(fmt, data, offset)

    rows, cols, zmin, name_length = take(0, "<HHdH", "header")
    name = take(14, f"<{name_length}s", "image name")[0].decode("latin-1")
    offset = 14 + name_length
    (count,) = take(offset, "<I", "value count")
    offset += 4
    if count != 5 * rows * cols:
        raise MeshFormatError(
            f"{source}: header says {count} values, but a {rows} x {cols} grid needs {5 * rows * cols}"
        )
    expected = offset + 8 * count
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "has trailing bytes"
        raise MeshFormatError(f"{source}: {state}: {len(data)} bytes where the header implies {expected}")
    planes = np.frombuffer(data, dtype="<f8", count=count, offset=offset).reshape(5, rows, cols)[:, ::-1]
    return RangeGrid(*(plane.copy() for plane in planes), zmin=float(zmin), image_name=name)


def write_bnt_grid(path: str | Path, grid: RangeGrid) -> None:
    """Write the planes in the .bnt layout (bottom row first)."""
    rows, cols = grid.z.shape
    name = grid.image_name.encode("latin-1")
    planes = np.stack([getattr(grid, plane) for plane in _PLANES])[:, ::-1].astype("<f8")
    header = struct.pack(f"<HHdH{len(name)}sI", rows, cols, grid.zmin, len(name), name, planes.size)
    Path(path).write_bytes(header + planes.tobytes())


def triangulate_grid(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangles over the valid points of a (rows, cols) grid, facing the viewer (+z when rows run downwards
    in y). Returns (flat indices of the valid points in order, triangles indexing into them)."""
    rows, cols = valid.shape
    ids = np.arange(rows * cols).reshape(rows, cols)
    a, b = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel()  # top-left, top-right
    c, d = ids[1:, :-1].ravel(), ids[1:, 1:].ravel()  # bottom-left, bottom-right
    flat = valid.ravel()
    va, vb, vc, vd = flat[a], flat[b], flat[c], flat[d]
    corners_valid = va.astype(int) + vb + vc + vd
    full = corners_valid == 4
    three = corners_valid == 3
    triangles = [
        np.column_stack([a, c, b])[full], np.column_stack([b, c, d])[full],
        np.column_stack([b, c, d])[three & ~va], np.column_stack([a, c, d])[three & ~vb],
        np.column_stack([a, d, b])[three & ~vc], np.column_stack([a, c, b])[three & ~vd],
    ]
    kept = np.flatnonzero(flat)
    remap = np.full(rows * cols, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    return kept, remap[np.concatenate(triangles)]


def grid_to_mesh(grid: RangeGrid, source: str) -> FaceMesh:
    """The triangle mesh of the valid grid points, with uv from the planes' U and V."""
    kept, faces = triangulate_grid(grid.valid)
    if len(kept) == 0:
        raise MeshFormatError(f"{source}: every grid point is background (Z == zmin)")
    vertices = np.column_stack([grid.x.ravel()[kept], grid.y.ravel()[kept], grid.z.ravel()[kept]])
    corners = vertices[faces]
    facing = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])[:, 2].sum()
    if facing < 0:  # a grid whose y grows downwards: wind the triangles to face the scanner (+z) all the same
        faces = faces[:, ::-1]
    uv = np.column_stack([grid.u.ravel()[kept], 1.0 - grid.v.ravel()[kept]])
    return FaceMesh(vertices, faces, uv=uv, source=source)


def read_bnt(path: str | Path) -> FaceMesh:
    """Read a .bnt scan as a triangle mesh with its 2D image as texture when that image is present."""
    path = Path(path)
    grid = read_bnt_grid(path)
    mesh = grid_to_mesh(grid, str(path))
    image_path = path.parent / PureWindowsPath(grid.image_name).name  # the name alone, even if a path was stored
    if grid.image_name and image_path.is_file():
        with Image.open(image_path) as image:
            mesh.texture = image.convert("RGB")
        mesh.metadata["texture_file"] = str(image_path)
    else:
        logger.warning("%s: 2D image %r not found next to it; reading the geometry without texture",
                       path, grid.image_name)
    return mesh
