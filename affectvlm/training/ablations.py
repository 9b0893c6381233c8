"""Ablations: the same recipe with one thing changed at a time, as one table and one convergence chart.

The paper claims its multiview losses converge faster; "steps to target" (the first evaluation at which
validation accuracy reaches the target) measures that on equal footing: same data, seed, steps and schedule.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..evaluation.metrics import mean_std
from ..evaluation.plots import plot_convergence
from .config import TrainConfig
from .metrics_log import read_metrics
from .trainer import train

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
    """'L_mc + L_mt (paper)' -> 'l-mc-l-mt-paper': the variant's run folder."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _train_variant(base: TrainConfig, folder: Path, name: str, seed: int) -> dict[str, Any]:
    """One variant, one seed: its summary and its validation curve."""
    config = dataclasses.replace(base, output_dir=str(folder), seed=seed, **VARIANTS[name])
    summary = train(config)
    records = read_metrics(folder / "metrics.jsonl")
    curve = [(r["step"], r["validation/accuracy"]) for r in records if "validation/accuracy" in r]
    return {"seed": seed, "test_accuracy": summary["test"]["accuracy"], "test_macro_f1": summary["test"]["macro_f1"],
            "best_validation_accuracy": summary.get("best_validation_accuracy"),
            "steps_to_target": summary["steps_to_target"], "steps": summary["steps"],
            "wall_time_s": summary["wall_time_s"], "classifier": summary["classifier"], "curve": curve}


def _over_seeds(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, sample std) over the seeds that have a value; (None, None) when none has."""
    if not values:
        return None, None
    spread = mean_std(values, ddof=1)
    return spread["mean"], spread["std"]


def _variant_row(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread over seeds; steps to target over the seeds that reached it."""
    reached = [run["steps_to_target"] for run in runs if run["steps_to_target"] is not None]
    row = {"variant": name, "seeds": [run["seed"] for run in runs], "steps": runs[0]["steps"],
           "classifier": runs[0]["classifier"], "reached_target": len(reached),
           "steps_to_target": _over_seeds(reached)[0],
           "steps_to_target_std": _over_seeds(reached)[1],
           "runs": [{key: value for key, value in run.items() if key != "curve"} for run in runs]}
    for key in ("test_accuracy", "test_macro_f1", "best_validation_accuracy", "wall_time_s"):
        row[key], row[f"{key}_std"] = _over_seeds([run[key] for run in runs if run[key] is not None])
    return row


def _mean_curve(runs: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """Validation accuracy per evaluation step, averaged over the seeds that evaluated there."""
    by_step: dict[int, list[float]] = {}
    for run in runs:
        for step, accuracy in run["curve"]:
            by_step.setdefault(step, []).append(accuracy)
    return [(step, sum(values) / len(values)) for step, values in sorted(by_step.items())]


def run_ablations(base: TrainConfig, out_dir: str | Path, names: Sequence[str] | None = None,
                  seeds: Sequence[int] = (0,)) -> list[dict[str, Any]]:
    """Train every variant (named, or all) once per seed from `base` into out_dir/<variant>/seed-<seed>;
    write ablations.{json,md} (mean +- std over seeds) and convergence.png (the seeds' mean curves)."""
    out_dir = Path(out_dir)
    names = list(names or VARIANTS)
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; variants: {list(VARIANTS)}")
    rows, curves = [], {}
    for name in names:
        runs = [_train_variant(base, out_dir / _slug(name) / f"seed-{seed}", name, seed) for seed in seeds]
        rows.append(_variant_row(name, runs))
        curves[name] = _mean_curve(runs)
        (out_dir / "ablations.json").write_text(json.dumps({"target_accuracy": base.target_accuracy, "rows": rows},
                                                           indent=2))  # after each variant: a long run shows progress
    (out_dir / "ablations.md").write_text(ablation_table(rows, base.target_accuracy))
    plot_convergence(curves, out_dir / "convergence.png", target=base.target_accuracy,
                     title=f"validation accuracy (mean of {len(seeds)} seeds), {base.layout} fold {base.fold}")
    return rows


def _cell(mean: float | None, std: float | None, percent: bool = True) -> str:
    if mean is None:
        return "-"
    return f"{mean:.1%} ± {std:.1%}" if percent else f"{mean:.0f} ± {std:.0f}"


def ablation_table(rows: Sequence[dict[str, Any]], target: float | None) -> str:
    """The rows as a markdown table: mean ± std over seeds."""
    target_text = f"steps to {target:.0%} val." if target is not None else "steps to target"
    lines = [f"| variant | seeds | test acc. | test macro-F1 | best val. acc. | {target_text} | time (s) |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        seeds = len(row["seeds"])
        reached = f"not in {row['steps']}" if row["steps_to_target"] is None else (
            f"{_cell(row['steps_to_target'], row['steps_to_target_std'], percent=False)} ({row['reached_target']}/{seeds})")
        f1 = f"{row['test_macro_f1']:.3f} ± {row['test_macro_f1_std']:.3f}"
        lines.append(f"| {row['variant']} | {seeds} | {_cell(row['test_accuracy'], row['test_accuracy_std'])} | {f1} | "
                     f"{_cell(row['best_validation_accuracy'], row['best_validation_accuracy_std'])} | {reached} | "
                     f"{row['wall_time_s']:.0f} |")
    return "\n".join(lines) + "\n"
