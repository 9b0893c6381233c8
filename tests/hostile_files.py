"""Hostile mesh files and things that are not faces, written into a folder: what a careless or malicious
visitor might upload. `python tests/hostile_files.py FOLDER` writes them all and prints their names."""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import trimesh

from affectvlm.bundled import EXAMPLES


def _obj(vertices: list[str], faces: str = "f 1 2 3\n") -> bytes:
    return ("".join(f"v {v}\n" for v in vertices) + faces).encode()


def _wrl(points: str, index: str = "0 1 2 -1") -> bytes:
    return (f"#VRML V2.0 utf8\nShape {{ geometry IndexedFaceSet {{ coord Coordinate {{ point [ {points} ] }} "
            f"coordIndex [ {index} ] }} }}\n").encode()


def _nested_transforms(depth: int) -> bytes:
    face_set = "Shape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] } coordIndex [ 0 1 2 -1 ] } }"
    return ("#VRML V2.0 utf8\n" + "Transform { children [ " * depth + face_set + " ] }" * depth + "\n").encode()


def _empty_glb() -> bytes:
    """A well-formed binary glTF holding no scene, no node, no mesh."""
    document = b'{"asset":{"version":"2.0"}}'
    document += b" " * (-len(document) % 4)
    chunk = struct.pack("<I4s", len(document), b"JSON") + document
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunk)) + chunk


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _bnt(rows: int, cols: int, values: np.ndarray | None = None) -> bytes:
    """A .bnt file in the database's layout; without `values` only the header (which claims rows x cols)."""
    count = 5 * rows * cols
    header = struct.pack("<HHdH5sI", rows, cols, -1e9, 5, b"a.png", count % 2**32)
    return header if values is None else header + values.astype("<f8").tobytes()


def hostile_files(folder: Path, face: Path) -> list[Path]:
    """The hostile files: each unusable in its own way. `face` is a good mesh to hide inside archives."""
    face_bytes = face.read_bytes()
    files = {
        "overflow32.obj": _obj(["1e39 0 0", "0 1 0", "0 0 1"]),
        "underflow32.obj": _obj(["1e-300 0 0", "0 1e-300 0", "0 0 1e-300"]),
        "overflow32.wrl": _wrl("1e39 0 0, 0 1 0, 0 0 1"),
        "underflow32.wrl": _wrl("1e-300 0 0, 0 1e-300 0, 0 0 1e-300"),
        "identical.obj": _obj(["1 2 3"] * 3),
        "bad_index.wrl": _wrl("0 0 0, 1 0 0, 0 1 0", "0 1 7 -1"),
        "text.ply": b"this is not a mesh, just a sentence in a file\n",
        "huge_count.stl": b"\0" * 80 + struct.pack("<I", 10**8) + b"\0" * 50,
        "huge_count.ply": b"ply\nformat binary_little_endian 1.0\nelement vertex 100000000000\nproperty float x\n"
                          b"property float y\nproperty float z\nend_header\n" + b"\0" * 24,
        "empty.glb": _empty_glb(),
        "proto.wrl": b"#VRML V2.0 utf8\nPROTO Face [ field SFVec3f size 1 1 1 ] { Shape { geometry Box { size IS size } } }\n"
                     b"Face { size 2 2 2 }\n",
        "nested.wrl": _nested_transforms(5000),
        "huge_grid.bnt": _bnt(65535, 65535),
        "background.bnt": _bnt(40, 30, np.full(5 * 40 * 30, -1e9)),
        "escape.zip": _zip({"frame_0.ply": face_bytes, "../../escape.ply": face_bytes}),
        "bomb.zip": _zip({"frame_0.ply": face_bytes, "frame_1.ply": b"\0" * (200 * 1024 * 1024)}),
        "empty.zip": _zip({}),
    }
    return _write(folder, files)


def non_face_files(folder: Path) -> list[Path]:
    """Meshes that are valid but are not faces, in several formats."""
    line = np.column_stack([np.linspace(0, 1, 4)] * 3)
    shapes = {
        "collinear.obj": trimesh.Trimesh(line, [[0, 1, 2], [1, 2, 3]], process=False),
        "triangle.ply": trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]),
        "box.glb": trimesh.creation.box((1.0, 0.8, 0.6)).subdivide().subdivide().subdivide(),
        "sphere.stl": trimesh.creation.icosphere(4),
        "torus.off": trimesh.creation.torus(1.0, 0.3),
        "needle.obj": trimesh.creation.cylinder(0.01, 2.0, sections=32),
    }
    files = {}
    for name, mesh in shapes.items():
        data = mesh.export(file_type=Path(name).suffix[1:])
        files[name] = data.encode() if isinstance(data, str) else data
    return _write(folder, files)


def _write(folder: Path, files: dict[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1])
    example = EXAMPLES / "happiness.ply"
    for written in hostile_files(target, example) + non_face_files(target):
        print(written)
