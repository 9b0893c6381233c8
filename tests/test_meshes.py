"""load_mesh / validate_mesh: real files in real formats round-trip, and every bad input is refused with a
MeshFormatError that names its source."""

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from affectvlm.bundled import EXAMPLE_FACE
from affectvlm.model import meshes_affectvlm
from affectvlm.model.meshes_affectvlm import (
    MESH_READERS,
    FaceMesh,
    MeshFormatError,
    MeshLimits,
    load_mesh,
    register_mesh_reader,
    validate_mesh,
)
from affectvlm.model.rendering_affectvlm import normalize_mesh



@pytest.fixture(scope="module")
def face() -> FaceMesh:
    return load_mesh(EXAMPLE_FACE)


@pytest.fixture(scope="module")
def face_trimesh(face) -> trimesh.Trimesh:
    return trimesh.Trimesh(face.vertices, face.faces, process=False)


def test_example_face_loads_with_canonical_dtypes(face):
    assert face.vertices.shape == (9409, 3) and face.vertices.dtype == np.float32
    assert face.faces.shape == (18461, 3) and face.faces.dtype == np.int64
    assert face.source == str(EXAMPLE_FACE)
    assert face.vertex_colors is None and face.uv is None and face.texture is None


@pytest.mark.parametrize("suffix", ["obj", "ply", "off", "glb", "gltf"])
def test_formats_round_trip_vertices_in_file_order(tmp_path, face, face_trimesh, suffix):
    path = tmp_path / f"face.{suffix}"
    face_trimesh.export(path)
    mesh = load_mesh(path)
    assert mesh.source == str(path)
    np.testing.assert_allclose(mesh.vertices, face.vertices, atol=1e-5)
    np.testing.assert_array_equal(mesh.faces, face.faces)


def test_stl_round_trips_bounds_and_triangle_count(tmp_path, face, face_trimesh):
    path = tmp_path / "face.stl"
    face_trimesh.export(path)
    mesh = load_mesh(path)
    assert len(mesh.faces) == len(face.faces)
    np.testing.assert_allclose(mesh.vertices.min(0), face.vertices.min(0), atol=1e-5)
    np.testing.assert_allclose(mesh.vertices.max(0), face.vertices.max(0), atol=1e-5)


def test_upper_case_suffix_is_read(tmp_path, face, face_trimesh):
    path = tmp_path / "FACE.PLY"
    face_trimesh.export(path, file_type="ply")
    assert len(load_mesh(path).vertices) == len(face.vertices)


@pytest.mark.parametrize("suffix", ["ply", "obj", "glb"])
def test_vertex_colours_are_carried(tmp_path, face, suffix):
    colors = np.random.default_rng(0).integers(0, 256, (len(face.vertices), 3), dtype=np.uint8)
    path = tmp_path / f"coloured.{suffix}"
    trimesh.Trimesh(face.vertices, face.faces, vertex_colors=colors, process=False).export(path)
    mesh = load_mesh(path)
    assert mesh.vertex_colors.dtype == np.uint8
    np.testing.assert_array_equal(mesh.vertex_colors, colors)


@pytest.mark.parametrize("suffix", ["obj", "glb"])
def test_uv_and_texture_image_are_carried(tmp_path, face, suffix):
    xy = face.vertices[:, :2]
    uv = ((xy - xy.min(0)) / np.ptp(xy, axis=0)).astype(np.float32)
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8))
    visual = trimesh.visual.TextureVisuals(uv=uv, image=image)
    path = tmp_path / f"textured.{suffix}"
    trimesh.Trimesh(face.vertices, face.faces, visual=visual, process=False).export(path)
    mesh = load_mesh(path)
    np.testing.assert_allclose(mesh.uv, uv, atol=1e-6)
    assert mesh.texture.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(mesh.texture), np.asarray(image))


def test_ply_with_uv_but_no_image_has_no_texture(tmp_path, face):
    uv = np.zeros((len(face.vertices), 2), np.float32)
    path = tmp_path / "uv_only.ply"
    visual = trimesh.visual.TextureVisuals(uv=uv)
    trimesh.Trimesh(face.vertices, face.faces, visual=visual, process=False).export(path)
    mesh = load_mesh(path)
    assert mesh.uv is not None and mesh.texture is None


def test_obj_keeps_unused_vertices_and_triangulates_quads(tmp_path):
    path = tmp_path / "quad.obj"
    path.write_text("v 9 9 9\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 2 3 4 5\n")
    mesh = load_mesh(path)
    np.testing.assert_array_equal(mesh.vertices[0], [9, 9, 9])
    assert mesh.vertices.shape == (5, 3)
    assert mesh.faces.shape == (2, 3) and set(mesh.faces.ravel()) == {1, 2, 3, 4}


def test_non_utf8_obj_is_read(tmp_path):
    path = tmp_path / "latin1.obj"
    path.write_bytes("# visage \xe9t\xe9\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".encode("latin-1"))
    assert load_mesh(path).faces.tolist() == [[0, 1, 2]]


def test_quad_arrays_split_into_two_triangles_each():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    mesh = load_mesh((vertices, [[0, 1, 2, 3]]))
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]]


def test_array_dict_trimesh_and_facemesh_inputs_agree(face, face_trimesh):
    landmarks = face.vertices[[10, 20, 30]]
    inputs = [
        (face.vertices.astype(np.float64), face.faces.astype(np.int32)),
        [face.vertices.tolist(), face.faces.tolist()],
        {"vertices": face.vertices, "faces": face.faces, "landmarks": landmarks, "source": "subject 7"},
        face_trimesh,
        trimesh.Scene(face_trimesh),
        face,
    ]
    for source in inputs:
        mesh = load_mesh(source)
        assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.int64
        np.testing.assert_allclose(mesh.vertices, face.vertices, atol=1e-6)
        np.testing.assert_array_equal(mesh.faces, face.faces)
    from_dict = load_mesh(inputs[2])
    assert from_dict.source == "subject 7"
    np.testing.assert_array_equal(from_dict.landmarks, landmarks)


def test_scene_geometry_is_concatenated_with_transforms():
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box())
    scene.add_geometry(trimesh.creation.box(), transform=trimesh.transformations.translation_matrix([5, 0, 0]))
    mesh = load_mesh(scene)
    assert mesh.vertices.shape == (16, 3) and mesh.faces.shape == (24, 3)
    np.testing.assert_allclose(mesh.vertices.max(0), [5.5, 0.5, 0.5])


def test_input_is_not_mutated_or_aliased(face):
    vertices, faces = face.vertices.copy(), face.faces.copy()
    original = FaceMesh(vertices, faces, vertex_colors=np.zeros((len(vertices), 4), np.uint8), metadata={"a": 1})
    mesh = load_mesh(original)
    mesh.vertices[:] = 0
    mesh.faces[:] = 0
    mesh.metadata["b"] = 2
    np.testing.assert_array_equal(original.vertices, face.vertices)
    np.testing.assert_array_equal(original.faces, face.faces)
    assert original.vertex_colors.shape == (len(vertices), 4) and original.metadata == {"a": 1}
    assert mesh.vertex_colors.shape == (len(vertices), 3)


def test_float_colours_in_unit_range_become_uint8():
    vertices = np.eye(3)
    mesh = load_mesh({"vertices": vertices, "faces": [[0, 1, 2]], "vertex_colors": [[1.0, 0.5, 0.0]] * 3})
    assert mesh.vertex_colors.dtype == np.uint8 and mesh.vertex_colors[0].tolist() == [255, 128, 0]


def test_loading_common_formats_prints_nothing(tmp_path, face_trimesh, capfd):
    for suffix in ["obj", "ply", "stl", "off", "glb", "gltf"]:
        path = tmp_path / f"quiet.{suffix}"
        face_trimesh.export(path)
        load_mesh(path)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _export(path: Path, geometry) -> Path:
    geometry.export(path)
    return path


# Each case: (make the bad file in tmp_path, words the message must contain).
BAD_FILES = {
    "missing": (lambda d, m: d / "missing.ply", "file not found"),
    "directory": (lambda d, m: d, "directory"),
    "unknown suffix": (lambda d, m: _write(d / "face.xyz", b"1 2 3"), "supported: .bnt, .glb, .gltf, .obj"),
    "no suffix": (lambda d, m: _write(d / "face", b"1 2 3"), "unsupported"),
    "empty": (lambda d, m: _write(d / "empty.ply", b""), "empty"),
    "garbage ply": (lambda d, m: _write(d / "garbage.ply", np.random.default_rng(0).bytes(4000)), "parse"),
    "garbage obj": (lambda d, m: _write(d / "garbage.obj", np.random.default_rng(1).bytes(4000)), "no vertices"),
    "garbage stl": (lambda d, m: _write(d / "garbage.stl", np.random.default_rng(2).bytes(4000)), "no vertices"),
    "garbage off": (lambda d, m: _write(d / "garbage.off", np.random.default_rng(3).bytes(4000)), "parse"),
    "garbage glb": (lambda d, m: _write(d / "garbage.glb", np.random.default_rng(4).bytes(4000)), "parse"),
    "truncated ply": (
        lambda d, m: _write(d / "truncated.ply", m.export(file_type="ply", encoding="binary")[:100_000]),
        "parse",
    ),
    "nan vertex": (lambda d, m: _write(d / "nan.obj", b"v 0 0 nan\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"), "NaN"),
    "inf vertex": (
        lambda d, m: _export(
            d / "inf.ply", trimesh.Trimesh([[0, 0, np.inf], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
        ),
        "infinite",
    ),
    "point cloud": (lambda d, m: _export(d / "points.ply", trimesh.PointCloud(m.vertices)), "point cloud"),
    "face index too large": (
        lambda d, m: _export(d / "bad_index.ply", trimesh.Trimesh(np.eye(3), [[0, 1, 7]], process=False)),
        "outside 0..2",
    ),
    "face index too large (obj)": (
        lambda d, m: _write(d / "bad_index.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n"),
        "out of bounds",
    ),
    "zero extent": (lambda d, m: _write(d / "dot.obj", b"v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n"), "identical"),
    "beyond float32 (obj)": (lambda d, m: _write(d / "big.obj", b"v 1e39 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n"),
                             "a coordinate of 1e+39 lies beyond the float32 range"),
    "beyond float32 (1e300)": (lambda d, m: _write(d / "huge.obj", b"v 1e300 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n"),
                               "beyond the float32 range"),
    "float32 underflow": (lambda d, m: _write(d / "tiny.obj", b"v 1e-300 0 0\nv 0 1e-300 0\nv 0 0 0\nf 1 2 3\n"),
                          "float32 rounds to zero extent"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_raise_mesh_format_error_naming_the_file(tmp_path, face_trimesh, case):
    make, words = BAD_FILES[case]
    path = make(tmp_path, face_trimesh)
    with pytest.raises(MeshFormatError) as info:
        load_mesh(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert words in message


def test_parser_failures_are_chained(tmp_path):
    path = _write(tmp_path / "garbage.ply", b"not a ply file at all")
    with pytest.raises(MeshFormatError) as info:
        load_mesh(path)
    assert info.value.__cause__ is not None and not isinstance(info.value.__cause__, MeshFormatError)


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (MeshLimits(max_vertices=9408), "9409 vertices, over the limit of 9408"),
        (MeshLimits(max_faces=18460), "18461 triangles, over the limit of 18460"),
        (MeshLimits(max_file_bytes=1000), "over the limit of 1000"),
    ],
)
def test_limits_are_enforced(limits, words):
    with pytest.raises(MeshFormatError, match=words) as info:
        load_mesh(EXAMPLE_FACE, limits)
    assert str(info.value).startswith(f"{EXAMPLE_FACE}: ")


def test_file_size_is_checked_before_reading(tmp_path, monkeypatch):
    path = _write(tmp_path / "big.ply", b"x" * 2000)
    monkeypatch.setitem(MESH_READERS, ".ply", lambda p: pytest.fail("reader called on an oversized file"))
    with pytest.raises(MeshFormatError, match="2000 bytes"):
        load_mesh(path, MeshLimits(max_file_bytes=1999))


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ((np.zeros((3, 2)), [[0, 1, 2]]), "(n, 3)"),
        ((np.zeros((0, 3)), np.zeros((0, 3), int)), "no vertices"),
        ((np.eye(3), np.zeros((0, 3), int)), "no faces (a point cloud?)"),
        ((np.eye(3), [[0, 1, 2.0]]), "integer"),
        ((np.eye(3), [[0, 1, -1]]), "outside 0..2"),
        ((np.eye(3), [[0, 1]]), "(n, 3) or (n, 4)"),
        ((np.eye(3), [[0, 1, 2, 3, 4]]), "(n, 3) or (n, 4)"),
        ((np.ones((3, 3)), [[0, 1, 2]]), "identical"),
        ((np.array([[0, 0, 0], [1, 0, np.inf], [0, 1, 0]]), [[0, 1, 2]]), "1 of 3 vertices"),
        ({"vertices": np.eye(3)}, "lacks ['faces']"),
        ({"vertices": np.eye(3), "faces": [[0, 1, 2]], "colour": 1}, "unknown mesh keys ['colour']"),
        ({"vertices": np.eye(3), "faces": [[0, 1, 2]], "vertex_colors": [[0, 0, 300]] * 3}, "[0, 255]"),
        ({"vertices": np.eye(3), "faces": [[0, 1, 2]], "vertex_colors": [[0, 0, 0]] * 2}, "2 rows for 3"),
        ({"vertices": np.eye(3), "faces": [[0, 1, 2]], "texture": Image.new("RGB", (4, 4))}, "without uv"),
        ({"vertices": np.eye(3), "faces": [[0, 1, 2]], "landmarks": [[np.nan, 0, 0]]}, "landmarks"),
        (42, "cannot make a mesh"),
    ],
)
def test_bad_in_memory_meshes_are_refused(source, words):
    with pytest.raises(MeshFormatError) as info:
        load_mesh(source)
    assert words in str(info.value)
    assert str(info.value).startswith("<")


def test_a_tiny_but_float32_sized_mesh_is_kept_and_normalised():
    vertices = np.eye(3) * 1e-30  # far below a millimetre, still well inside float32
    face = load_mesh((vertices, [[0, 1, 2]]))
    assert np.ptp(face.vertices, axis=0).max() > 0
    assert np.isfinite(normalize_mesh(face).vertices).all()


def test_normalize_mesh_refuses_with_a_mesh_format_error():
    flat = FaceMesh(np.full((3, 3), np.float32(2.0)), np.array([[0, 1, 2]]), source="dot.obj")
    with pytest.raises(MeshFormatError, match=r"^dot\.obj: cannot normalise"):
        normalize_mesh(flat)


def test_validate_mesh_names_the_facemesh_source():
    with pytest.raises(MeshFormatError, match=r"^scan 12: mesh has no faces"):
        validate_mesh(FaceMesh(np.eye(3), np.zeros((0, 3), int), source="scan 12"))


def test_registered_readers_are_used_and_their_errors_wrapped(tmp_path, monkeypatch):
    monkeypatch.setattr(meshes_affectvlm, "MESH_READERS", dict(MESH_READERS))

    def read_triangle(path: Path) -> FaceMesh:
        values = [float(x) for x in path.read_text().split()]
        return FaceMesh(np.reshape(values, (3, 3)), np.array([[0, 1, 2]]))

    register_mesh_reader(["tri", ".TRI2"], read_triangle)
    good = _write(tmp_path / "one.tri2", b"0 0 0 1 0 0 0 1 0")
    mesh = load_mesh(good)
    assert mesh.faces.tolist() == [[0, 1, 2]] and mesh.source == str(good)
    bad = _write(tmp_path / "bad.TRI", b"0 0 zero")
    with pytest.raises(MeshFormatError, match=r"bad\.TRI: cannot parse as a \.tri mesh \(ValueError"):
        load_mesh(bad)
