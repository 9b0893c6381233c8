"""Time the core path on this machine: load a mesh, render its views, one forward pass. Prints and writes JSON.

    python scripts/benchmarks/core_latency.py [--model affectvlm/assets/default_model] [--repeats 20] [--out FILE]

Without --model it times a CLIP ViT-B/32-sized random model (the size the paper fine-tunes), 224 px views.
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

import affectvlm
from affectvlm.model.meshes_affectvlm import load_mesh
from affectvlm.model.rendering_affectvlm import render_views


def _timed(function, repeats: int) -> tuple[float, list[float]]:
    """First call (cold: renderer creation, shader compile) and the median of the warm calls, in ms."""
    started = time.perf_counter()
    function()
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        warm.append((time.perf_counter() - started) * 1000)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: a random ViT-B/32-sized model)")
    parser.add_argument("--mesh", default=str(Path(affectvlm.__file__).parent / "assets" / "example_face.ply"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default="outputs/benchmarks/core_latency.json")
    args = parser.parse_args()

    if args.model:
        model = affectvlm.AffectVLMModel.from_pretrained(args.model).eval()
        processor = affectvlm.AffectVLMProcessor.from_pretrained(args.model)
    else:
        model = affectvlm.AffectVLMModel(affectvlm.AffectVLMConfig(vision_config={"patch_size": 32})).eval()
        processor = affectvlm.build_processor(model.config)
    if not model.has_class_prompts:
        model.set_class_prompts(**processor.class_prompt_inputs())
    mesh = load_mesh(args.mesh)
    views = processor.view_specs

    load_cold, load_warm = _timed(lambda: load_mesh(args.mesh), args.repeats)
    render_cold, render_warm = _timed(
        lambda: render_views(mesh, views, processor.render_mode, processor.render_size), args.repeats)
    pixels = processor(images=[processor.render(mesh)])["pixel_values"]
    with torch.no_grad():
        forward_cold, forward_warm = _timed(lambda: model(pixel_values=pixels), args.repeats)
        end_cold, end_warm = _timed(lambda: model(**processor(meshes=args.mesh)), args.repeats)

    results = {
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform(), "torch": torch.__version__},
        "mesh": {"file": Path(args.mesh).name, "vertices": len(mesh.vertices), "triangles": len(mesh.faces)},
        "model": args.model or "random ViT-B/32-sized", "parameters": sum(p.numel() for p in model.parameters()),
        "views": len(views), "render_size": processor.render_size, "render_mode": processor.render_mode,
        "repeats": args.repeats,
        "ms": {
            "load_mesh": {"cold": load_cold, "warm_median": statistics.median(load_warm)},
            "render_views": {"cold": render_cold, "warm_median": statistics.median(render_warm)},
            "forward": {"cold": forward_cold, "warm_median": statistics.median(forward_warm)},
            "file_to_logits": {"cold": end_cold, "warm_median": statistics.median(end_warm)},
        },
    }
    results["views_per_second_warm"] = round(len(views) * 1000 / results["ms"]["render_views"]["warm_median"], 1)
    for stage in results["ms"].values():
        for key in stage:
            stage[key] = round(stage[key], 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
