"""Time the batches of on-the-fly training (`--render-on-the-fly`): read, prepare, render with jittered cameras,
augment, normalise. Prints and writes JSON: seconds per batch in the first epoch and in the later ones.

    python scripts/benchmarks/on_the_fly_batches.py --data-dir data/synthetic-bu3dfe [--epochs 3] [--device cuda]

The batches alone, without the model step (scripts/benchmarks/train_step.py times that). Run it on two commits
(PYTHONPATH=<checkout>) to compare them.
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

from affectvlm.training.config import TrainConfig
from affectvlm.training.models import model_for
from affectvlm.training.preparation import prepare_data, train_batches
from affectvlm.training.trainer import make_accelerator


def _epoch_batch_seconds(loader, device: str) -> list[float]:
    times, started = [], time.perf_counter()
    for batch in loader:
        if batch["pixel_values"].is_cuda:
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="a dataset folder (e.g. from scripts/make_synthetic.py)")
    parser.add_argument("--layout", default="bu3dfe", help="its layout (default: bu3dfe)")
    parser.add_argument("--cache-dir", default="outputs/benchmarks/on_the_fly_cache", help="rendered-view cache")
    parser.add_argument("--preset", default="conv", help="model preset: its processor renders (default: conv)")
    parser.add_argument("--batch-size", type=int, default=24, help="faces per batch (default: 24)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training faces (default: 3)")
    parser.add_argument("--device", default="cpu", help="where the views are drawn: cpu or cuda (default: cpu)")
    parser.add_argument("--out", default="outputs/benchmarks/on_the_fly_batches.json", help="JSON results file")
    args = parser.parse_args()

    config = TrainConfig(data_dir=args.data_dir, layout=args.layout, cache_dir=args.cache_dir,
                         model_preset=args.preset, batch_size=args.batch_size, render_on_the_fly=True,
                         output_dir="unused", cpu=args.device == "cpu")
    _, processor = model_for(config)
    data = prepare_data(config, processor, make_accelerator(config))
    loader = train_batches(config, processor, data.train, args.device)
    epochs = [_epoch_batch_seconds(loader, args.device) for _ in range(args.epochs)]
    later = [seconds for epoch in epochs[1:] for seconds in epoch]
    results = {
        "faces": len(data.train), "batch_size": args.batch_size, "batches_per_epoch": len(loader),
        "device": args.device, "first_epoch_s_per_batch": statistics.median(epochs[0]),
        "later_epochs_s_per_batch": statistics.median(later) if later else None,
        "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.machine(),
    }
    print(json.dumps(results, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
