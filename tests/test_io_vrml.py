"""VRML 2.0 IndexedFaceSet: synthetic scans round-trip, hand-written files in BU-3DFE's style parse (comments,
commas, polygons of 3-6 vertices, per-corner uv), and broken files are refused naming the file."""

import logging
import time

import numpy as np
import pytest
from PIL import Image

from affectvlm import load_mesh
from affectvlm.io.vrml import read_vrml, write_vrml
from affectvlm.model.meshes_affectvlm import FaceMesh, MeshFormatError
from affectvlm.synthetic import DEFAULT_VARIATION, synthesize_face
from affectvlm.synthetic.texture import textured_scan

HAND_WRITTEN = """#VRML V2.0 utf8
# a comment with a "quote" and [brackets]
Transform {
  children [
    Shape {
      appearance Appearance { texture ImageTexture { url [ "missing.bmp", "tex#1.png" ] } }
      geometry IndexedFaceSet {
        coord DEF co Coordinate { point [ 0 0 0, 1 0 0,1 1 0
                                          0 1 0 ,  2 0 0, 2 1 0 ] } # six points
        texCoord TextureCoordinate { point [ 0 0, 1 0, 1 1, 0 1, 0.5 0.5 ] }
        coordIndex [ 0, 1, 2, 3, -1,   1 4 5 2 -1 ]
        texCoordIndex [ 0 1 2 3 -1 4 4 4 4 -1 ]
      }
    }
    Shape { geometry IndexedFaceSet {
      coord Coordinate { point [ 0 0 1, 1 0 1, 1 1 1, 0 1 1, 0.5 1.5 1, -0.5 0.5 1 ] }
      texCoord TextureCoordinate { point [ 0 0, 1 0, 1 1, 0 1, 0.5 1, 0 0.5 ] }
      coordIndex [ 0 1 2 4 3 5 ]
    } }
  ]
}
"""


@pytest.fixture(scope="module")
def scan_mesh() -> FaceMesh:
    return textured_scan(synthesize_face(3, "fear", 3, DEFAULT_VARIATION), 3, texture_size=64)


def test_synthetic_scan_round_trips_with_texture(scan_mesh, tmp_path):
    write_vrml(tmp_path / "face.wrl", scan_mesh, tmp_path / "face.bmp")
    read = load_mesh(tmp_path / "face.wrl")  # the registered reader, as the processor uses it
    assert read.vertices.shape == scan_mesh.vertices.shape and np.array_equal(read.faces, scan_mesh.faces)
    np.testing.assert_allclose(read.vertices, scan_mesh.vertices, atol=1e-4)
    np.testing.assert_allclose(read.uv, scan_mesh.uv, atol=1e-6)
    assert read.texture.size == (64, 64)
    assert np.array_equal(np.asarray(read.texture), np.asarray(scan_mesh.texture))  # BMP is lossless
    assert read.metadata["texture_file"] == str(tmp_path / "face.bmp")


def test_hand_written_file_parses_polygons_and_per_corner_uv(tmp_path):
    Image.new("RGB", (8, 8), (200, 100, 50)).save(tmp_path / "tex#1.png")
    (tmp_path / "hand.wrl").write_text(HAND_WRITTEN)
    mesh = read_vrml(tmp_path / "hand.wrl")
    # quad -> 2, quad -> 2, hexagon without a closing -1 -> 4 fan triangles
    assert len(mesh.faces) == 8
    # vertices 1 and 2 are shared by both quads of the first set with different uv: each gets one copy
    assert len(mesh.vertices) == 6 + 6 + 2
    np.testing.assert_array_equal(mesh.faces[:4], [[0, 1, 2], [0, 2, 3], [12, 4, 5], [12, 5, 13]])
    corners = mesh.uv[mesh.faces[2:4]].reshape(-1, 2)
    np.testing.assert_allclose(corners, 0.5)  # the second quad's corners all have uv (0.5, 0.5)
    np.testing.assert_allclose(mesh.vertices[[12, 13]], mesh.vertices[[1, 2]])  # copies sit where their originals do
    np.testing.assert_array_equal(mesh.faces[4:], [[6, 7, 8], [6, 8, 10], [6, 10, 9], [6, 9, 11]])
    np.testing.assert_allclose(mesh.uv[10], [0.5, 1.0])  # texCoord indexed by coordIndex when texCoordIndex is absent
    assert mesh.texture.size == (8, 8)  # the second url: the first does not exist


def test_missing_texture_is_a_warning_and_the_geometry_is_read(scan_mesh, tmp_path, caplog):
    write_vrml(tmp_path / "face.wrl", scan_mesh, tmp_path / "face.bmp")
    (tmp_path / "face.bmp").unlink()
    with caplog.at_level(logging.WARNING):
        mesh = load_mesh(tmp_path / "face.wrl")
    assert mesh.texture is None and mesh.uv is not None and len(mesh.vertices) == len(scan_mesh.vertices)
    assert "face.bmp not found" in caplog.text and str(tmp_path / "face.wrl") in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] }"
         " coordIndex [ 0 1 3 -1 ] } }", "refers to vertex 3, outside 0..2"),
        ("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 zero ] }"
         " coordIndex [ 0 1 2 -1 ] } }", "holds 'zero', not a number"),
        ("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 ] }"
         " coordIndex [ 0 1 2 -1 ] } }", "not x y z triples"),
        ("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coordIndex [ 0 1 2 -1 ] } }", "has no coord Coordinate"),
        ("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] }"
         " texCoord TextureCoordinate { point [ 0 0 ] } coordIndex [ 0 1 2 -1 ] texCoordIndex [ 0 0 5 -1 ] } }",
         "texture coordinate 5"),
        ("#VRML V2.0 utf8\nGroup { }", "holds no IndexedFaceSet"),
        ("#VRML V1.0 ascii\nSeparator { }", "not a VRML 2.0 file"),
        ("\x00\x01garbage bytes \xff", "not a VRML 2.0 file"),
    ],
)
def test_broken_files_are_refused_naming_the_file(tmp_path, text, message):
    path = tmp_path / "broken.wrl"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(MeshFormatError, match=message) as caught:
        load_mesh(path)
    assert str(caught.value).startswith(str(path))


def test_a_30k_vertex_file_parses_well_under_a_second(tmp_path):
    rng = np.random.default_rng(0)
    side = 174  # 174 x 174 grid: 30,276 vertices, 59,858 triangles
    x, y = np.meshgrid(np.arange(side, dtype=float), np.arange(side, dtype=float))
    vertices = np.column_stack([x.ravel(), y.ravel(), rng.normal(size=side * side)])
    ids = np.arange(side * side).reshape(side, side)
    quads = np.column_stack([ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel(), ids[1:, 1:].ravel(), ids[1:, :-1].ravel()])
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    mesh = FaceMesh(vertices, faces, uv=vertices[:, :2] / side, texture=Image.new("RGB", (4, 4)))
    write_vrml(tmp_path / "big.wrl", mesh, tmp_path / "big.png")
    start = time.perf_counter()
    read = read_vrml(tmp_path / "big.wrl")
    elapsed = time.perf_counter() - start
    assert len(read.vertices) == side * side and len(read.faces) == len(faces)
    assert elapsed < 1.0, f"parsing took {elapsed:.2f} s"
