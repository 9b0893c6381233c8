"""How often the "is this a face?" check refuses faces (it must never) and non-faces (it must always).

    python scripts/faceness_rates.py [--faces 300] [--layout-subjects 2] [--out outputs/benchmarks/faceness.json]

Faces: synthetic faces with the default variation and with heavy crops; full ICT heads, face-only (9,409
vertices) and narrow face-only (6,706) masks; partial scans cut by a random plane through up to 40% of the
face; faces with holes; poses up to +-20 degrees; millimetres, centimetres and metres with arbitrary offsets;
the bundled examples; and files the project's dataset writers produce (.wrl, .bnt, .obj, .ply) read back.
Non-faces: a single triangle, collinear points, boxes, spheres, an ellipsoid, a torus, a plane, a cylinder, a
capsule, a needle (coarse and finely subdivided). Prints the counts and the refused cases and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import trimesh

from affectvlm.bundled import EXAMPLE_FACE, EXAMPLES
from affectvlm.data.emotions import EMOTIONS_WITH_NEUTRAL
from affectvlm.data.loading import load_sample
from affectvlm.model.faceness_affectvlm import face_shape_problem, measure_face_shape
from affectvlm.model.meshes_affectvlm import FaceMesh, load_mesh
from affectvlm.synthetic import (
    DEFAULT_VARIATION, DatasetRequest, SyntheticRequest, synthesize_face, write_synthetic_dataset,
)

ROOT = Path(__file__).resolve().parents[1]

FULL_HEAD = ROOT.parent / "shared" / "data" / "ict-face-model" / "ict_face_model_light.npz"


def _rotation(rng: np.random.Generator, degrees: float) -> np.ndarray:
    yaw, pitch, roll = np.radians(rng.uniform(-degrees, degrees, 3))
    return (trimesh.transformations.euler_matrix(pitch, yaw, roll, "sxyz")[:3, :3]).T


def _keep(mesh: FaceMesh, kept_triangles: np.ndarray, source: str) -> FaceMesh:
    faces = np.asarray(mesh.faces)[kept_triangles]
    used, inverse = np.unique(faces, return_inverse=True)
    return FaceMesh(np.asarray(mesh.vertices)[used], inverse.reshape(-1, 3), source=source)


def plane_cut(mesh: FaceMesh, rng: np.random.Generator, max_fraction: float = 0.4) -> FaceMesh:
    """Drop the part of the face beyond a random plane, up to `max_fraction` of its extent along the cut."""
    direction = rng.standard_normal(3) * np.array([1.0, 1.0, 0.3])
    direction /= np.linalg.norm(direction)
    depth = np.asarray(mesh.vertices) @ direction
    threshold = depth.max() - rng.uniform(0.05, max_fraction) * np.ptp(depth)
    kept = (depth[np.asarray(mesh.faces)] < threshold).all(axis=1)
    return _keep(mesh, kept, f"{mesh.source} cut {max_fraction}")


def with_holes(mesh: FaceMesh, rng: np.random.Generator, holes: int = 4) -> FaceMesh:
    """Punch `holes` round holes (up to 8% of the face's size across) where a scanner saw nothing."""
    vertices = np.asarray(mesh.vertices)
    centroids = vertices[np.asarray(mesh.faces)].mean(axis=1)
    size = np.ptp(vertices, axis=0).max()
    kept = np.ones(len(centroids), bool)
    for centre in vertices[rng.choice(len(vertices), holes)]:
        kept &= np.linalg.norm(centroids - centre, axis=1) > rng.uniform(0.02, 0.08) * size
    return _keep(mesh, kept, f"{mesh.source} holes")


def posed(mesh: FaceMesh, rng: np.random.Generator, degrees: float = 20.0) -> FaceMesh:
    """Rotated by up to `degrees` about each axis, in mm, cm or m, moved by an arbitrary offset."""
    scale = rng.choice([10.0, 1.0, 0.01])
    offset = rng.uniform(-1, 1, 3) * rng.choice([0.0, 10.0, 500.0])
    vertices = np.asarray(mesh.vertices) @ _rotation(rng, degrees) * scale + offset * scale
    return replace(mesh, vertices=vertices.astype(np.float32), landmarks=None, source=f"{mesh.source} posed x{scale}")


def synthetic_faces(count: int) -> Iterator[FaceMesh]:
    """Faces with the default variation, and every fourth with a heavy crop, holes or a pose."""
    rng = np.random.default_rng(13)
    heavy_crop = replace(DEFAULT_VARIATION, crop_probability=1.0, crop_max_fraction=0.4)
    for number in range(count):
        emotion = EMOTIONS_WITH_NEUTRAL[number % len(EMOTIONS_WITH_NEUTRAL)]
        intensity = 0 if emotion == "neutral" else 1 + number % 4
        variation = heavy_crop if number % 2 else DEFAULT_VARIATION
        face = synthesize_face(1000 + number, emotion, intensity, variation, sample_seed=number)
        yield (face, plane_cut(face, rng), with_holes(face, rng), posed(plane_cut(face, rng), rng))[number % 4]


def ict_heads(count: int) -> Iterator[FaceMesh]:
    """Full ICT heads (every part: eyes, teeth, neck), their face-only and narrow face-only masks."""
    with np.load(FULL_HEAD) as data:
        neutral, identity, expression = data["neutral"], data["identity_deltas"], data["expression_deltas"]
        triangles = data["triangles"].astype(np.int64)
        narrow_end, face_end = int(data["narrow_face_vertex_range"][1]), int(data["face_vertex_range"][1])
    rng = np.random.default_rng(7)
    for number in range(count):
        vertices = (neutral + np.tensordot(rng.standard_normal(len(identity)), identity, axes=1)
                    + np.tensordot(rng.uniform(0, 0.6, len(expression)) * (rng.random(len(expression)) < 0.1),
                                   expression, axes=1))
        head = FaceMesh(vertices.astype(np.float32), triangles, source=f"<ICT head {number}>")
        for end, name in ((face_end, "face-only"), (narrow_end, "narrow face-only")):
            inside = (triangles < end).all(axis=1)
            yield _keep(head, inside, f"<ICT {name} {number}>")
        yield head if number % 2 else posed(head, rng)


def bundled_faces() -> Iterator[FaceMesh]:
    for path in [EXAMPLE_FACE, *sorted(EXAMPLES.glob("*.ply"))]:
        yield load_mesh(path)


def dataset_faces(workdir: Path, subjects: int) -> Iterator[FaceMesh]:
    """Faces written by the project's dataset writers (.wrl, .bnt, .obj) and as binary PLY (as the demo's examples
    are), read back from the files."""
    settings = {"bu3dfe": {"intensities": (2, 4)}, "bosphorus": {}, "bp4d": {"frames": 5}, "folder": {"intensities": (4,)}}
    for layout, options in settings.items():
        faces = SyntheticRequest(texture_size=16, **options)
        samples = write_synthetic_dataset(DatasetRequest(workdir / layout, layout, subjects, faces,
                                                         subject_seed_offset=500))
        for sample in samples:
            yield from load_sample(sample)
    for number, face in enumerate(load_sample(samples[0]) if samples else []):  # as the demo's examples: PLY
        path = workdir / f"face_{number}.ply"
        path.write_bytes(trimesh.Trimesh(face.vertices, face.faces, process=False).export(file_type="ply"))
        yield load_mesh(path)


def _box(subdivisions: int) -> trimesh.Trimesh:
    box = trimesh.creation.box((1.0, 0.8, 0.6))
    for _ in range(subdivisions):
        box = box.subdivide()
    return box


def _plane(cells: int) -> trimesh.Trimesh:
    """A flat square of cells x cells quads."""
    axis = np.linspace(0.0, 1.0, cells + 1)
    x, y = np.meshgrid(axis, axis)
    ids = np.arange((cells + 1) ** 2).reshape(cells + 1, cells + 1)
    a, b, c, d = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel(), ids[1:, :-1].ravel(), ids[1:, 1:].ravel()
    faces = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, d])])
    return trimesh.Trimesh(np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)]), faces, process=False)


def non_faces() -> Iterator[FaceMesh]:
    """Things that are not faces: primitives, coarse and finely subdivided."""
    line = np.column_stack([np.linspace(0, 1, 4), np.linspace(0, 2, 4), np.linspace(0, 3, 4)])
    shapes = {
        "single triangle": trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]),
        "collinear points": trimesh.Trimesh(line, [[0, 1, 2], [1, 2, 3]], process=False),
        "box": _box(0), "box, subdivided": _box(4),
        "sphere": trimesh.creation.icosphere(1), "sphere, fine": trimesh.creation.icosphere(4),
        "uv sphere": trimesh.creation.uv_sphere(count=[64, 64]),
        "ellipsoid": trimesh.creation.icosphere(4).apply_scale([1.0, 1.4, 0.7]),
        "torus": trimesh.creation.torus(1.0, 0.3), "torus, fine": trimesh.creation.torus(1.0, 0.3, 128, 64),
        "plane": _plane(40),
        "cylinder": trimesh.creation.cylinder(0.5, 1.5, sections=64),
        "capsule": trimesh.creation.capsule(1.0, 0.4, count=[32, 32]),
        "needle": trimesh.creation.cylinder(0.01, 2.0, sections=32),
        "needle, cone": trimesh.creation.cone(0.02, 2.0, sections=64),
    }
    for name, shape in shapes.items():
        vertices = np.asarray(shape.vertices)
        if vertices.shape[1] == 2:
            vertices = np.column_stack([vertices, np.zeros(len(vertices))])
        yield FaceMesh(vertices.astype(np.float32), np.asarray(shape.faces, np.int64), source=name)


def refusals(meshes: Iterator[FaceMesh]) -> tuple[int, list[dict]]:
    """(meshes checked, the refused ones with their problem and measurements)."""
    count, refused = 0, []
    for mesh in meshes:
        count += 1
        shape = measure_face_shape(load_mesh(mesh))
        problem = face_shape_problem(shape)
        if problem is not None:
            refused.append({"source": mesh.source, "problem": problem, **asdict(shape)})
    return count, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=300, help="synthetic faces (default: 300)")
    parser.add_argument("--heads", type=int, default=20, help="ICT heads, each also as two face masks (default: 20)")
    parser.add_argument("--layout-subjects", type=int, default=2, help="subjects per dataset layout (default: 2)")
    parser.add_argument("--out", default="outputs/benchmarks/faceness.json", help="where to write the JSON")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        groups = {
            "synthetic faces (variation, crops, holes, poses, units)": synthetic_faces(args.faces),
            "ICT full heads and face masks": ict_heads(args.heads),
            "bundled example faces": bundled_faces(),
            "dataset files (.wrl .bnt .obj .ply)": dataset_faces(Path(workdir), args.layout_subjects),
            "non-faces": non_faces(),
        }
        for name, meshes in groups.items():
            count, refused = refusals(meshes)
            results[name] = {"checked": count, "refused": len(refused), "refusals": refused}
            print(f"{name}: {len(refused)} of {count} refused")
            for row in refused if name != "non-faces" else []:
                print("   ", row["source"], "-", row["problem"])
    non_face = results["non-faces"]
    accepted = sorted({r["source"] for r in non_face["refusals"]} ^ {m.source for m in non_faces()})
    non_face["accepted"] = accepted
    print("non-faces accepted:", accepted or "none")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
