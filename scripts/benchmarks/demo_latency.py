"""Time the demo's predict path on this machine: a file -> probabilities through `analyse_upload`, the function
the web page calls (load, render, forward, the viewer's .glb and the display views). Prints and writes JSON.

    python scripts/benchmarks/demo_latency.py [--model affectvlm/assets/default_model] [--file FACE]
        [--emotions "bored, proud"] [--repeats 20] [--torch-threads N] [--out outputs/benchmarks/demo_latency.json]

Cold is this fresh process's first call, reported apart from the model load before it (renderer creation and
shader compilation land in the first call). Warm is the median and 90th percentile of the calls after it.
On a busy 2-core machine torch's 2 threads wait for each other; --torch-threads 1 shows the quiet-machine time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()

import torch  # noqa: E402
from transformers import AutoModel, AutoProcessor  # noqa: E402

import affectvlm  # noqa: E402
from affectvlm.ui.analysis import Reading, analyse_upload  # noqa: E402
from affectvlm.ui.limits import DemoLimits  # noqa: E402
from affectvlm.ui.prompts import parse_emotions  # noqa: E402

IMPORTED = time.perf_counter()
ASSETS = Path(affectvlm.__file__).parent / "assets"


def _seconds_to_ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ASSETS / "default_model"), help="model folder or Hub id (default: bundled)")
    parser.add_argument("--file", default=str(ASSETS / "examples" / "happiness.ply"),
                        help="a mesh or a .zip of frames (default: the bundled happiness example)")
    parser.add_argument("--emotions", default="", help="comma-separated zero-shot emotions to score as well")
    parser.add_argument("--repeats", type=int, default=20, help="warm calls to time (default: 20)")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads before timing (default: torch's)")
    parser.add_argument("--out", default="outputs/benchmarks/demo_latency.json", help="where to write the JSON")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    limits = DemoLimits()
    emotions = parse_emotions(args.emotions, limits.max_emotions)
    load_started = time.perf_counter()
    model = AutoModel.from_pretrained(args.model).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    load_seconds = time.perf_counter() - load_started

    def call():
        with tempfile.TemporaryDirectory() as workdir:
            return analyse_upload(Path(args.file), model, processor, Path(workdir), limits, Reading(tuple(emotions)))

    started = time.perf_counter()
    analysis = call()
    first_seconds = time.perf_counter() - started
    warm = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        call()
        warm.append(time.perf_counter() - started)
    warm.sort()

    results = {
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "torch": torch.__version__},
        "model": args.model, "parameters": sum(p.numel() for p in model.parameters()),
        "file": Path(args.file).name, "frames": len(analysis.frames), "label": analysis.label,
        "zero_shot_emotions": emotions, "repeats": args.repeats,
        "ms": {
            "imports": _seconds_to_ms(IMPORTED - STARTED),
            "model_load": _seconds_to_ms(load_seconds),
            "cold_first_call": _seconds_to_ms(first_seconds),
            "cold_load_plus_first_call": _seconds_to_ms(load_seconds + first_seconds),
            "warm_median": _seconds_to_ms(statistics.median(warm)),
            "warm_p90": _seconds_to_ms(warm[min(len(warm) - 1, round(0.9 * (len(warm) - 1)))]),
            "warm_min": _seconds_to_ms(warm[0]),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
