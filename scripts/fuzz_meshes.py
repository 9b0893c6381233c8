"""Fuzz the mesh readers: mutate valid files of every supported format and check that each mutant becomes a
mesh or a MeshFormatError that names the file, and nothing else (no other exception, no unnamed error).

    python scripts/fuzz_meshes.py [--count 10000] [--seed 0] [--keep FOLDER] [--out outputs/benchmarks/fuzz.json]

Seeds: a patch of the example face written as .obj, ASCII and binary .ply, binary and ASCII .stl, .off, .glb,
.gltf (embedded buffer), .wrl and .bnt. Mutations: truncation, byte flips, inserted and deleted chunks, numbers
replaced with nan / inf / 1e308 / 1e39 / 1e-320 / huge integers (as text in text formats, as packed values in
binary ones), the header alone, the bytes reversed. Each mutant goes through `load_mesh`, the faceness check
and `render_views`. Prints the counts (and every crash) and writes JSON; with --keep, crashing files are kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import struct
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import trimesh

import affectvlm.io  # noqa: F401  (registers the .wrl and .bnt readers)
from affectvlm.bundled import EXAMPLE_FACE
from affectvlm.io import write_obj, write_vrml
from affectvlm.io.bnt import write_bnt_grid
from affectvlm.synthetic.range_scan import mesh_to_grid
from affectvlm.model.faceness_affectvlm import check_face
from affectvlm.model.meshes_affectvlm import FaceMesh, MeshFormatError, load_mesh
from affectvlm.model.rendering_affectvlm import ViewSpec, render_views

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = EXAMPLE_FACE
VIEWS = (ViewSpec("frontal"), ViewSpec("left", 30.0))
RENDER_SIZE = 32
TEXT_VALUES = ("nan", "inf", "-inf", "1e308", "1e39", "-1e39", "1e-320", "99999999999999999999999999", "-0", "1e999")
BINARY_VALUES = (np.nan, np.inf, -np.inf, 1e308, 1e39, 1e-320, 2**63, -(2**31))


def seed_mesh(triangles: int = 600) -> FaceMesh:
    """A patch of the example face around its centre: small, so that each mutant is quick to read and draw."""
    face = load_mesh(EXAMPLE)
    centroids = face.vertices[face.faces].mean(axis=1)
    nearest = np.argsort(np.linalg.norm(centroids - np.median(face.vertices, axis=0), axis=1))[:triangles]
    used, inverse = np.unique(face.faces[nearest], return_inverse=True)
    return FaceMesh(face.vertices[used], inverse.reshape(-1, 3), source="seed")


def seed_files(folder: Path) -> list[Path]:
    """The seed mesh in every supported format (two encodings where the format has them)."""
    mesh = seed_mesh()
    shape = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    files = {
        "seed_ascii.ply": shape.export(file_type="ply", encoding="ascii"),
        "seed_binary.ply": shape.export(file_type="ply", encoding="binary"),
        "seed_binary.stl": shape.export(file_type="stl"),
        "seed_ascii.stl": shape.export(file_type="stl_ascii"),
        "seed.off": shape.export(file_type="off"),
        "seed.glb": shape.export(file_type="glb"),
        "seed.gltf": shape.export(file_type="gltf", embed_buffers=True)["model.gltf"],
    }
    for name, data in files.items():
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    write_obj(folder / "seed.obj", mesh)
    write_vrml(folder / "seed.wrl", mesh)
    scan = FaceMesh(mesh.vertices * 10, mesh.faces, source="seed")  # the face model's cm -> a scanner's mm
    write_bnt_grid(folder / "seed.bnt", mesh_to_grid(scan, 2.0, "seed.png")[0])
    return sorted(folder.glob("seed*"))


def _header_end(data: bytes) -> int:
    """Where a file's header ends: after PLY's end_header, else a format's fixed header, else 1/8 of it."""
    marker = data.find(b"end_header")
    if marker >= 0:
        return data.index(b"\n", marker) + 1
    return {b"glTF": 20, b"#VRM": 16}.get(data[:4], max(1, min(84, len(data) // 8)))


def _replace_numbers(data: bytes, rng: np.random.Generator) -> bytes:
    """Some numeric tokens of a text file become nan / inf / overflowing / underflowing / huge values."""
    tokens = list(re.finditer(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", data))
    if not tokens:
        return data
    chosen = sorted(rng.choice(len(tokens), size=min(len(tokens), int(rng.integers(1, 6))), replace=False))
    out, last = [], 0
    for index in chosen:
        match = tokens[index]
        out += [data[last:match.start()], rng.choice(TEXT_VALUES).encode()]
        last = match.end()
    return b"".join(out) + data[last:]


def _replace_binary(data: bytes, rng: np.random.Generator) -> bytes:
    """Some aligned 4- or 8-byte words of a binary file become nan / inf / overflowing / huge values."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        width = int(rng.choice([4, 8]))
        if len(out) < 2 * width:
            break
        offset = int(rng.integers(0, len(out) // width)) * width
        value = rng.choice(BINARY_VALUES)
        packed = (struct.pack("<d", float(value)) if width == 8 else
                  struct.pack("<f", np.float32(value)) if not float(value).is_integer() or abs(value) > 2**31
                  else struct.pack("<i", int(value)))
        out[offset:offset + width] = packed[:width]
    return bytes(out)


def _is_text(data: bytes) -> bool:
    return b"\0" not in data[:4096]


MUTATIONS: dict[str, Callable[[bytes, np.random.Generator], bytes]] = {
    "truncate": lambda data, rng: data[: int(rng.integers(0, len(data)))],
    "flip bytes": lambda data, rng: bytes(np.bitwise_xor(np.frombuffer(data, np.uint8), np.where(
        rng.random(len(data)) < 10 / len(data), rng.integers(1, 256, len(data)), 0).astype(np.uint8))),
    "insert chunk": lambda data, rng: (lambda at: data[:at] + rng.bytes(int(rng.integers(1, 512))) + data[at:])(
        int(rng.integers(0, len(data)))),
    "delete chunk": lambda data, rng: (lambda at: data[:at] + data[at + int(rng.integers(1, 512)):])(
        int(rng.integers(0, len(data)))),
    "replace numbers": lambda data, rng: _replace_numbers(data, rng) if _is_text(data) else _replace_binary(data, rng),
    "header only": lambda data, rng: data[:_header_end(data)],
    "reverse bytes": lambda data, rng: data[::-1],
}


def check_file(path: Path) -> tuple[str, str]:
    """("mesh" | "error" | "unnamed error" | "crash", detail) for one file through reading, checking, drawing."""
    try:
        mesh = load_mesh(path)
        try:
            check_face(mesh)
        except MeshFormatError as error:
            if str(path) not in str(error):
                return "unnamed error", str(error)[:300]
        render_views(mesh, VIEWS, image_size=RENDER_SIZE)
    except MeshFormatError as error:
        return ("error" if str(path) in str(error) else "unnamed error"), str(error)[:300]
    except Exception as error:  # anything else is what the harness is here to find
        return "crash", f"{type(error).__name__}: {str(error)[:300]}"
    return "mesh", ""


def fuzz(count: int, seed: int, workdir: Path, keep: Path | None = None) -> dict:
    """Mutate the seeds `count` times in all; the counts by outcome, by mutation and by format, and every bad case."""
    seeds = [(path, path.read_bytes()) for path in seed_files(workdir)]
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    by_mutation: dict[str, Counter] = {name: Counter() for name in MUTATIONS}
    by_format: dict[str, Counter] = {}
    bad, slowest = [], (0.0, "")
    for number in range(count):
        seed_path, data = seeds[number % len(seeds)]
        mutation = list(MUTATIONS)[int(rng.integers(len(MUTATIONS)))]
        mutant = MUTATIONS[mutation](data, rng)
        path = workdir / f"mutant_{number:05d}{seed_path.suffix}"
        path.write_bytes(mutant)
        started = time.perf_counter()
        outcome, detail = check_file(path)
        slowest = max(slowest, (time.perf_counter() - started, f"{seed_path.name} {mutation}"))
        outcomes[outcome] += 1
        by_mutation[mutation][outcome] += 1
        by_format.setdefault(seed_path.name, Counter())[outcome] += 1
        if outcome in ("crash", "unnamed error"):
            bad.append({"file": path.name, "seed": seed_path.name, "mutation": mutation, "outcome": outcome,
                        "detail": detail})
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                (keep / path.name).write_bytes(mutant)
        path.unlink()
    return {"files": count, "seed": seed, "outcomes": dict(outcomes),
            "crashes": outcomes["crash"], "errors_without_file_name": outcomes["unnamed error"],
            "by_mutation": {name: dict(counter) for name, counter in by_mutation.items()},
            "by_format": {name: dict(counter) for name, counter in by_format.items()},
            "slowest_s": round(slowest[0], 3), "slowest_case": slowest[1], "bad_cases": bad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="mutated files to try (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutations (default: 0)")
    parser.add_argument("--keep", type=Path, help="keep every crashing or unnamed-error file in this folder")
    parser.add_argument("--out", default="outputs/benchmarks/fuzz.json", help="where to write the JSON")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # readers warn about every broken file: the counts below say it all
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="affectvlm-fuzz-") as workdir:
        results = fuzz(args.count, args.seed, Path(workdir), args.keep)
    results["seconds"] = round(time.perf_counter() - started, 1)
    for case in results["bad_cases"]:
        print(f"{case['outcome']}: {case['seed']} {case['mutation']}: {case['detail']}")
    print(json.dumps({key: results[key] for key in ("files", "outcomes", "crashes", "errors_without_file_name",
                                                     "slowest_s", "slowest_case", "seconds")}, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
