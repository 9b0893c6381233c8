"""Ablations: the same recipe with one thing changed at a time, as one table and one convergence chart.

The paper claims its multiview losses converge faster; "steps to target" (the first evaluation at which
validation accuracy reaches the target) measures that on equal footing: same data, seed, steps and schedule.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..evaluation.plots import plot_convergence
from .config import TrainConfig
from .trainer import MetricsLog, train

PAPER_LOSS = {"contrastive": 1.0, "triplet": 1.0}
VARIANTS: dict[str, dict[str, Any]] = {
    "default (L_mc + L_mt + InfoNCE)": {},
    "L_mc + L_mt (paper)": {"loss_weights": PAPER_LOSS},
    "cross-entropy": {"loss_weights": {"cross_entropy": 1.0}},
    "InfoNCE alone": {"loss_weights": {"infonce": 1.0}},
    "all terms (+ cross-entropy)": {"loss_weights": {**PAPER_LOSS, "infonce": 1.0, "cross_entropy": 1.0}},
    "fixed prompts": {"augment_prompts": False},
    "no view augmentation": {"view_augmentation": False},
    "1 view (frontal)": {"num_views": 1},
}


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-").replace("--", "-")


def run_ablations(base: TrainConfig, out_dir: str | Path, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Train every variant (named, or all) from `base` into out_dir/<variant>; write ablations.{json,md,png}."""
    out_dir = Path(out_dir)
    names = list(names or VARIANTS)
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; variants: {list(VARIANTS)}")
    rows, curves = [], {}
    for name in names:
        config = dataclasses.replace(base, output_dir=str(out_dir / _slug(name)), **VARIANTS[name])
        summary = train(config)
        records = MetricsLog(Path(config.output_dir) / "metrics.jsonl", False, 0).records()
        curves[name] = [(r["step"], r["validation/accuracy"]) for r in records if "validation/accuracy" in r]
        rows.append({
            "variant": name,
            "test_accuracy": summary["test"]["accuracy"],
            "test_macro_f1": summary["test"]["macro_f1"],
            "best_validation_accuracy": summary.get("best_validation_accuracy"),
            "steps_to_target": summary["steps_to_target"],
            "steps": summary["steps"],
            "wall_time_s": summary["wall_time_s"],
            "classifier": summary["classifier"],
        })
    (out_dir / "ablations.json").write_text(json.dumps({"target_accuracy": base.target_accuracy, "rows": rows}, indent=2))
    (out_dir / "ablations.md").write_text(ablation_table(rows, base.target_accuracy))
    plot_convergence(curves, out_dir / "convergence.png", target=base.target_accuracy,
                     title=f"validation accuracy, {base.layout} fold {base.fold}")
    return rows


def ablation_table(rows: Sequence[dict[str, Any]], target: float | None) -> str:
    """The rows as a markdown table."""
    target_text = f"steps to {target:.0%} val." if target is not None else "steps to target"
    lines = [f"| variant | test acc. | test macro-F1 | best val. acc. | {target_text} | time (s) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        reached = row["steps_to_target"] if row["steps_to_target"] is not None else f"not in {row['steps']}"
        best = row["best_validation_accuracy"]
        lines.append(f"| {row['variant']} | {row['test_accuracy']:.1%} | {row['test_macro_f1']:.3f} | "
                     f"{'-' if best is None else f'{best:.1%}'} | {reached} | {row['wall_time_s']:.0f} |")
    return "\n".join(lines) + "\n"
