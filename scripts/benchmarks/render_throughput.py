"""Render throughput of the default backend against the pyrender reference, side by side in one run.

    python scripts/benchmarks/render_throughput.py [--out FILE] [--sizes 64,96,128,224] [--batches 1,32]
    python scripts/benchmarks/render_throughput.py --backends cuda,numba   # on a GPU machine

Faces: the bundled examples and a ~37k-vertex VRML face (the ICT face subdivided once, written and read
back as .wrl). Each (backend, size, batch) renders batches of the same faces in the 3 default views, warm
(after one untimed call), and reports views per second. The two backends are timed in alternating
rounds; `speedup_vs_pyrender` is the median over rounds of the default backend's rate over pyrender's, at
batch 32 and the default model's render size (with other `--backends A,B`: `speedup_vs_B`, A's over B's). A
"cuda" batch is timed until its pictures are on the GPU, where on-the-fly training uses them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import trimesh

import affectvlm
from affectvlm.arguments import comma_list
from affectvlm.io.vrml import write_vrml
from affectvlm.model.meshes_affectvlm import FaceMesh, load_mesh
from affectvlm.model.rendering_affectvlm import DEFAULT_RENDER_BACKEND, check_backend, render_on_backend

ASSETS = Path(affectvlm.__file__).parent / "assets"


def dense_vrml_face(folder: Path) -> FaceMesh:
    """The example face subdivided once (each triangle into four), as a VRML file read back."""
    face = load_mesh(ASSETS / "example_face.ply")
    vertices, faces = trimesh.remesh.subdivide(face.vertices, face.faces)
    path = folder / "dense_face.wrl"
    write_vrml(path, FaceMesh(vertices.astype("float32"), faces))
    return load_mesh(path)


def render_finished(meshes: list[FaceMesh], views, mode: str, size: int, backend: str) -> None:
    """One batch, returned only once drawn: a GPU backend's kernels run asynchronously."""
    images = render_on_backend(meshes, views, mode, size, backend)
    if isinstance(images, torch.Tensor) and images.is_cuda:
        torch.cuda.synchronize(images.device)


def timed_views(batches: list[list[FaceMesh]], views, mode: str, size: int, backend: str,
                min_seconds: float) -> tuple[int, float]:
    """Views drawn and seconds taken: batches of faces rendered until `min_seconds` have passed."""
    drawn, started = 0, time.perf_counter()
    while drawn == 0 or time.perf_counter() - started < min_seconds:
        for meshes in batches:
            render_finished(meshes, views, mode, size, backend)
            drawn += len(meshes) * len(views)
    return drawn, time.perf_counter() - started


def paired_rates(faces: list[FaceMesh], views, mode: str, size: int, batch: int, backends: list[str],
                 min_seconds: float, rounds: int) -> tuple[dict[str, float], float]:
    """Warm views/s per backend, timed in alternating rounds (A B A B ...) so that a machine whose speed
    drifts (these are shared machines) slows both alike, and the median over rounds of the first backend's
    rate over the second's."""
    cycle = itertools.cycle(faces)
    batches = [[next(cycle) for _ in range(batch)] for _ in range(max(1, len(faces) // batch))]
    for backend in backends:
        render_finished(batches[0], views, mode, size, backend)  # compile / create the GL context
    totals = {backend: [0, 0.0] for backend in backends}
    ratios = []
    for _ in range(rounds):
        rates = []
        for backend in backends:
            drawn, seconds = timed_views(batches, views, mode, size, backend, min_seconds / rounds)
            totals[backend][0] += drawn
            totals[backend][1] += seconds
            rates.append(drawn / seconds)
        ratios.append(rates[0] / rates[1])
    return {backend: drawn / seconds for backend, (drawn, seconds) in totals.items()}, statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ASSETS / "default_model"), help="its processor gives views, mode, size")
    parser.add_argument("--sizes", type=comma_list(int), default=[64, 96, 128, 224], help="view sizes in px (default: 64,96,128,224)")
    parser.add_argument("--batches", type=comma_list(int), default=[1, 32], help="faces per call (default: 1,32)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="time each cell at least this long")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per cell (their median ratio is reported)")
    parser.add_argument("--backends", type=comma_list(), default=[DEFAULT_RENDER_BACKEND, "pyrender"],
                        help=f"the two backends compared, A,B: A's rate over B's is the speedup (default: {DEFAULT_RENDER_BACKEND},pyrender)")
    parser.add_argument("--out", default="outputs/benchmarks/render_throughput.json")
    args = parser.parse_args()
    backends = [check_backend(name) for name in args.backends]
    if len(backends) != 2 or backends[0] == backends[1]:
        parser.error(f"--backends names two different backends, A,B; got {','.join(args.backends)!r}")

    processor = affectvlm.AffectVLMProcessor.from_pretrained(args.model)
    views, mode = processor.view_specs, processor.render_mode
    sizes, batches = args.sizes, args.batches
    if processor.render_size not in sizes:
        sizes.append(processor.render_size)
    with tempfile.TemporaryDirectory() as folder:
        faces = [load_mesh(path) for path in sorted((ASSETS / "examples").glob("*.ply"))]
        faces.append(dense_vrml_face(Path(folder)))
    table: dict[str, dict[str, dict[str, float]]] = {backend: {} for backend in backends}
    ratios: dict[str, dict[str, float]] = {}
    print(f"{'size':>5} {'batch':>5} " + " ".join(f"{backend + ' views/s':>18}" for backend in backends) + f" {'ratio':>6}")
    for size, batch in itertools.product(sizes, batches):
        rates, ratio = paired_rates(faces, views, mode, size, batch, backends, args.min_seconds, args.rounds)
        for backend, rate in rates.items():
            table[backend].setdefault(str(size), {})[f"batch_{batch}"] = round(rate, 1)
        ratios.setdefault(str(size), {})[f"batch_{batch}"] = round(ratio, 2)
        print(f"{size:>5} {batch:>5} " + " ".join(f"{rates[backend]:>18.1f}" for backend in backends)
              + f" {ratio:>6.1f}", flush=True)

    size, batch = str(processor.render_size), f"batch_{max(batches)}"
    speedup = ratios[size][batch]
    results = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "load_average": os.getloadavg(),
                    "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        "backends": backends,
        "faces": [{"source": Path(face.source).name, "vertices": len(face.vertices), "triangles": len(face.faces)}
                  for face in faces],
        "views": len(views), "mode": mode, "default_render_size": processor.render_size,
        "views_per_second": table,
        "speedup_per_cell": ratios,
        f"speedup_vs_{backends[1]}": round(speedup, 2),
        "speedup_at": {"size": processor.render_size, "batch": max(batches)},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"speedup_vs_{backends[1]} ({backends[0]} / {backends[1]}, {processor.render_size} px, {batch}): {speedup:.1f}x")


if __name__ == "__main__":
    main()
