"""Time `pipeline()` against the direct processor + model calls it wraps, on the bundled example faces, at
several batch sizes: what the pipeline costs on top of the work. Prints and writes JSON.

    python scripts/benchmarks/pipeline_latency.py [--model affectvlm/assets/default_model] [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoModel, AutoProcessor, pipeline

import affectvlm
from affectvlm.arguments import comma_list

ASSETS = Path(affectvlm.__file__).parent / "assets"


def _median_ms_per_face(function, faces: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000 / faces)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ASSETS / "default_model"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=comma_list(int), default=[1, 4], help="comma-separated batch sizes (default: 1,4)")
    parser.add_argument("--out", default="outputs/benchmarks/pipeline_latency.json")
    args = parser.parse_args()

    faces = sorted(str(path) for path in (ASSETS / "examples").glob("*.ply"))
    model = AutoModel.from_pretrained(args.model).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    pipe = pipeline(affectvlm.PIPELINE_TASK, model=model, processor=processor, device="cpu")
    pipe(faces[0])  # warm: renderer, shaders, class embeddings

    def direct() -> None:
        with torch.no_grad():
            for face in faces:
                model(**processor(meshes=face)).logits.softmax(-1)

    results = {"direct_ms_per_face": _median_ms_per_face(direct, len(faces), args.repeats)}
    for batch_size in args.batch_sizes:
        results[f"pipeline_batch_{batch_size}_ms_per_face"] = _median_ms_per_face(
            lambda: pipe(faces, batch_size=batch_size), len(faces), args.repeats)
    report = {"model": args.model, "faces": len(faces), "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
              "cpu_count": os.cpu_count(), "machine": platform.platform(), **results}
    for name, value in results.items():
        print(f"{name:<32} {value:8.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
