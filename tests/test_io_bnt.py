"""Bosphorus .bnt: the binary layout (little-endian header, five planes stored upside down, zmin background),
the grid triangulation, a synthetic face scanned and read back, and truncated or inconsistent files refused."""

import logging
import struct

import numpy as np
import pytest

from affectvlm import load_mesh
from affectvlm.io.bnt import RangeGrid, read_bnt, read_bnt_grid, triangulate_grid, write_bnt_grid
from affectvlm.model.meshes_affectvlm import MeshFormatError
from affectvlm.synthetic import DEFAULT_VARIATION, synthesize_face
from affectvlm.synthetic.range_scan import mesh_to_grid
from affectvlm.synthetic.texture import textured_scan

ZMIN = -1e9


def small_grid() -> RangeGrid:
    """3 rows x 4 cols; the bottom-right point is background."""
    rows, cols = 3, 4
    x, y = np.meshgrid(np.arange(cols, dtype=float), -np.arange(rows, dtype=float))
    z = 10.0 + np.arange(rows * cols, dtype=float).reshape(rows, cols)
    z[2, 3] = ZMIN
    u = (np.arange(cols) + 0.5)[None, :].repeat(rows, 0) / cols
    v = (np.arange(rows) + 0.5)[:, None].repeat(cols, 1) / rows
    planes = [np.where(z == ZMIN, ZMIN, plane) for plane in (x, y, z, u, v)]
    return RangeGrid(*planes, zmin=ZMIN, image_name="small.png")


@pytest.fixture(scope="module")
def scan_mesh():
    return textured_scan(synthesize_face(1, "surprise", 4, DEFAULT_VARIATION), 1, texture_size=64)


def test_layout_is_little_endian_with_planes_stored_upside_down(tmp_path):
    grid = small_grid()
    write_bnt_grid(tmp_path / "small.bnt", grid)
    data = (tmp_path / "small.bnt").read_bytes()
    rows, cols, zmin, length = struct.unpack_from("<HHdH", data)
    assert (rows, cols, zmin, length) == (3, 4, ZMIN, len("small.png"))
    assert data[14:14 + length] == b"small.png"
    (count,) = struct.unpack_from("<I", data, 14 + length)
    assert count == 5 * 12 and len(data) == 14 + length + 4 + 8 * count
    planes = np.frombuffer(data, "<f8", offset=18 + length).reshape(5, rows, cols)
    np.testing.assert_array_equal(planes[2][0], grid.z[-1])  # first stored row = bottom of the face
    np.testing.assert_array_equal(planes[2][-1], grid.z[0])
    again = read_bnt_grid(tmp_path / "small.bnt")
    for name in ("x", "y", "z", "u", "v"):
        np.testing.assert_array_equal(getattr(again, name), getattr(grid, name))
    assert again.image_name == "small.png" and again.zmin == ZMIN


def test_valid_cells_become_triangles_facing_the_viewer():
    valid = np.array([[True, True, True], [True, True, False]])
    kept, faces = triangulate_grid(valid)
    assert kept.tolist() == [0, 1, 2, 3, 4]
    assert len(faces) == 3  # a full cell (2) and a cell with three valid corners (1); background dropped
    rows, cols = np.divmod(kept, 3)
    points = np.column_stack([cols, -rows, np.zeros(len(kept))])  # row index grows downwards in y
    corners = points[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert (normals[:, 2] > 0).all()
    assert len(triangulate_grid(np.array([[True, False], [False, True]]))[1]) == 0


def test_synthetic_face_is_scanned_on_a_grid_and_read_back(scan_mesh, tmp_path, caplog):
    spacing = 2.0
    grid, image = mesh_to_grid(scan_mesh, spacing, "face.png")
    write_bnt_grid(tmp_path / "face.bnt", grid)
    image.save(tmp_path / "face.png")
    mesh = load_mesh(tmp_path / "face.bnt")
    assert len(mesh.vertices) == grid.valid.sum() > 3000
    assert mesh.texture.size == image.size and 0 <= mesh.uv.min() and mesh.uv.max() <= 1
    # every read-back point lies on the synthetic surface: within a grid step of one of its vertices
    sample = mesh.vertices[np.random.default_rng(0).choice(len(mesh.vertices), 300, replace=False)]
    distance = np.sqrt(((sample[:, None] - scan_mesh.vertices[None]) ** 2).sum(-1)).min(axis=1)
    assert np.median(distance) < spacing and distance.max() < 3 * spacing
    # and it faces the viewer, as the scan was taken from the front
    corners = mesh.vertices[mesh.faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert (normals[:, 2] > 0).mean() > 0.99
    (tmp_path / "face.png").unlink()
    with caplog.at_level(logging.WARNING):
        bare = read_bnt(tmp_path / "face.bnt")
    assert bare.texture is None and len(bare.vertices) == len(mesh.vertices)
    assert "'face.png' not found" in caplog.text


def corrupt(tmp_path, change) -> str:
    write_bnt_grid(tmp_path / "scan.bnt", small_grid())
    data = bytearray((tmp_path / "scan.bnt").read_bytes())
    (tmp_path / "scan.bnt").write_bytes(bytes(change(data)))
    return str(tmp_path / "scan.bnt")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data[:-8], "truncated: 499 bytes where the header implies 507"),
        (lambda data: data[:10], r"truncated \.bnt file \(10 bytes\) while reading the header"),
        (lambda data: data[:20], "while reading the image name"),
        (lambda data: data + b"\0" * 8, "has trailing bytes"),
        (lambda data: data[:23] + struct.pack("<I", 7) + data[27:], "header says 7 values, but a 3 x 4 grid needs 60"),
        (lambda data: b"", "file is empty"),
    ],
)
def test_truncated_or_inconsistent_files_are_refused_naming_the_file(tmp_path, change, message):
    path = corrupt(tmp_path, change)
    with pytest.raises(MeshFormatError, match=message) as caught:
        load_mesh(path)
    assert str(caught.value).startswith(path)


def test_an_all_background_scan_is_refused(tmp_path):
    grid = small_grid()
    background = RangeGrid(*(np.full_like(grid.z, ZMIN) for _ in range(5)), zmin=ZMIN, image_name="")
    write_bnt_grid(tmp_path / "empty.bnt", background)
    with pytest.raises(MeshFormatError, match="every grid point is background"):
        load_mesh(tmp_path / "empty.bnt")


def test_a_grid_whose_y_grows_downwards_still_faces_the_scanner(tmp_path):
    grid = small_grid()
    flipped = RangeGrid(grid.x, np.where(grid.valid, -grid.y, ZMIN), grid.z, grid.u, grid.v, ZMIN, "small.png")
    write_bnt_grid(tmp_path / "flipped.bnt", flipped)
    mesh = read_bnt(tmp_path / "flipped.bnt")
    corners = mesh.vertices[mesh.faces]
    assert (np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])[:, 2] > 0).all()
