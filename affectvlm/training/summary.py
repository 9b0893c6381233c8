"""The end of a run: the final model saved, the best model scored on the test faces, and the summary, test
results and training curves written into the run folder (and beside the saved models)."""

from __future__ import annotations

import json
from typing import Any

import torch

from ..synthetic.output import is_synthetic, synthetic_command
from ..evaluation.report import ResultsSource, dataset_entry, fold_results
from .config import TrainConfig
from .metrics_log import read_metrics
from .models import every_loss_weight, text_tower_is_trained
from .preparation import PreparedData, eval_batches
from .run import Run
from .schedule import Schedule
from .validation import evaluate


def finish(run: Run, data: PreparedData, schedule: Schedule, stopped_early: bool, seconds: float) -> dict[str, Any]:
    """Save the final model; score the best model on the test split; write the summary, results and plots.
    A run stopped early only reports where it stands (it resumes later)."""
    accelerator = run.accelerator
    summary = {"stopped_early": stopped_early, "steps": run.progress.step, "total_steps": schedule.total_steps,
               "world_size": accelerator.num_processes,
               "rank_parameter_checksums": check_ranks_agree(accelerator, run.model)}
    if stopped_early:
        return summary
    run.save_model(run.output / "final")
    best = run.output / "best"
    if best.is_dir():
        from safetensors.torch import load_file

        accelerator.unwrap_model(run.model).load_state_dict(load_file(str(best / "model.safetensors")), strict=False)
    test_loader = accelerator.prepare(eval_batches(data.test, run.config.batch_size))
    test_metrics = evaluate(run.model, test_loader, accelerator, run.labels)  # the best model as saved, centroids and all
    summary.update(_run_facts(run, schedule, seconds))
    summary.update({"best_step": run.progress.best_step,
                    f"best_{data.evaluation_name}_accuracy": run.progress.best_accuracy,
                    "steps_to_target": run.progress.steps_to_target,
                    "target_accuracy": run.config.target_accuracy,
                    "test": {key: test_metrics[key] for key in ("num_samples", "accuracy", "macro_f1")}})
    if accelerator.is_main_process:
        _write_reports(run, summary, test_metrics)
    accelerator.wait_for_everyone()
    return summary


def _run_facts(run: Run, schedule: Schedule, seconds: float) -> dict[str, Any]:
    """What was trained, on what, how and how long: the summary's description of the run."""
    config, accelerator = run.config, run.accelerator
    return {
        "command": config_command(config),
        "dataset": dataset_entry(config.layout, config.protocol or config.layout, config.data_dir,
                                 synthetic=is_synthetic(config.data_dir)),
        "data_command": synthetic_command(config.data_dir),
        "fold": config.fold,
        "epochs": schedule.epochs_done(run.progress.step),
        "batch_size": config.batch_size * accelerator.num_processes * config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "loss_weights": every_loss_weight(config),
        "seed": config.seed,
        "wall_time_s": round(seconds, 1),
        "hardware": f"{accelerator.num_processes} x {accelerator.device.type}",
        "base_model": config.clip or config.checkpoint,
        "classifier": "class prompts" if text_tower_is_trained(config) else "class centroids (saved with the weights)",
    }


def _write_reports(run: Run, summary: dict[str, Any], test_metrics: dict[str, Any]) -> None:
    """training_summary.json (also into best/ and final/), test_results.json and training_curves.png."""
    from ..evaluation.plots import plot_training_curves

    output = run.output
    (output / "training_summary.json").write_text(json.dumps(summary, indent=2))
    source = ResultsSource(model=str(output / "best"), dataset=summary["dataset"], command=summary["command"])
    results = fold_results([{"fold": run.config.fold, **test_metrics}], run.labels, source)
    (output / "test_results.json").write_text(json.dumps(results, indent=2))
    for folder in (output / "best", output / "final"):
        if folder.is_dir():
            (folder / "training_summary.json").write_text(json.dumps(summary, indent=2))
    plot_training_curves(read_metrics(output / "metrics.jsonl"), output / "training_curves.png",
                         title=f"{run.config.layout} fold {run.config.fold}")


def check_ranks_agree(accelerator: Any, model: Any) -> list[list[float]]:
    """Checksums of every rank's parameters; raises if any rank diverged (DDP should keep them identical)."""
    vector = torch.cat([p.detach().double().flatten() for p in accelerator.unwrap_model(model).parameters()])
    local = torch.stack([vector.sum(), vector.abs().sum(), (vector * vector).sum()]).to(accelerator.device)
    checksums = accelerator.gather(local.unsqueeze(0)).cpu()
    if not torch.allclose(checksums, checksums[:1].expand_as(checksums), rtol=1e-9, atol=0):
        raise RuntimeError(f"the ranks' parameters differ after training: checksums {checksums.tolist()}")
    return checksums.tolist()


def config_command(config: TrainConfig) -> str:
    """The command line that reproduces this run (options that differ from the defaults)."""
    defaults = TrainConfig(data_dir=config.data_dir).to_json()
    parts = ["accelerate launch scripts/train.py"]
    for key, value in config.to_json().items():
        if (value == defaults.get(key) and key != "data_dir") or value is None:
            continue  # None: unset, as --checkpoint leaves the preset
        option = "--" + key.replace("_", "-")
        if key == "cpu":
            parts += [option] if value else []
            continue
        if isinstance(value, dict):
            value = ",".join(f"{term}={weight:g}" for term, weight in value.items())
        elif isinstance(value, list):
            value = ",".join(map(str, value))
        elif isinstance(value, bool):
            value = "on" if value else "off"
        parts.append(f"{option} {value}")
    return " ".join(parts)
