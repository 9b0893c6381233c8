"""Time one training step of a preset model on this machine: forward with the loss, backward, AdamW step.
Prints and writes JSON.

    python scripts/benchmarks/train_step.py [--preset conv] [--image-size 96] [--batch-size 48] [--steps 20]
    python scripts/benchmarks/train_step.py --device cuda   # on a GPU machine

The default is the default model's recipe (the `conv` preset, three 96 px views, batch 48, attention view
fusion, all four loss terms), on random pixels: the step alone, without data loading or evaluation. Run it
on two commits (PYTHONPATH=<checkout>) to compare them.
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

from affectvlm.data.emotions import EMOTIONS_WITH_NEUTRAL
from affectvlm.model.losses_affectvlm import LOSS_TERMS
from affectvlm.training.models import build_model


def _step_seconds(model, batch: dict[str, torch.Tensor], steps: int) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        model(**batch, return_loss=True).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch["pixel_values"].is_cuda:  # the step is done when its kernels are, not when they are queued
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="conv", help="model preset (default: conv)")
    parser.add_argument("--image-size", type=int, default=96, help="view size in pixels (default: 96)")
    parser.add_argument("--batch-size", type=int, default=48, help="faces per step (default: 48)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps, after 3 untimed (default: 20)")
    parser.add_argument("--device", default="cpu", help="where the step runs: cpu, cuda, cuda:1... (default: cpu)")
    parser.add_argument("--out", default="outputs/benchmarks/train_step.json", help="JSON results file")
    args = parser.parse_args()

    torch.manual_seed(0)
    model, processor = build_model(args.preset, image_size=args.image_size, view_fusion="attention",
                                   emotion_labels=list(EMOTIONS_WITH_NEUTRAL), class_scorer="prompts",
                                   loss_weights={term: 1.0 for term in LOSS_TERMS})
    labels = torch.arange(args.batch_size) % len(EMOTIONS_WITH_NEUTRAL)
    text = processor(labels=labels.tolist(), metadata=[{}] * args.batch_size, augment_prompts=True, prompt_seed=0)
    pixels = torch.randn(args.batch_size, len(processor.views), 3, args.image_size, args.image_size)
    batch = {"pixel_values": pixels, **{key: text[key] for key in ("input_ids", "attention_mask", "labels")}}
    model, batch = model.to(args.device), {key: value.to(args.device) for key, value in batch.items()}
    _step_seconds(model, batch, 3)  # warm-up: allocator, oneDNN kernel choice
    seconds = _step_seconds(model, batch, args.steps)

    results = {
        "preset": args.preset, "image_size": args.image_size, "batch_size": args.batch_size, "device": args.device,
        "views": len(processor.views), "steps": args.steps,
        "step_s_median": statistics.median(seconds), "step_s_min": min(seconds), "step_s_max": max(seconds),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name(args.device) if torch.device(args.device).type == "cuda" else None,
    }
    print(json.dumps(results, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
