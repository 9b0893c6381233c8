"""The AffectVLM training loop on accelerate: one code path for one CPU, one GPU, many GPUs or nodes.

A run: index the dataset, split it by subject (protocol + fold), render every selected face once into the
cache, train with AdamW + warm-up + cosine over the global batch, evaluate with `gather_for_metrics`, keep
the best model, checkpoint atomically and resume at the exact step with the same data order. The parts live
beside this file (preparation, schedule, validation, summary); `Run` carries what they share.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..model.losses_affectvlm import gather_features
from .checkpoints import TrainingProgress, latest_checkpoint, save_checkpoint
from .config import TrainConfig
from .metrics_log import MetricsLog
from .models import model_for, text_tower_is_trained
from .preparation import PreparedData, eval_batches, prepare_data, train_batches
from .run import Run
from .schedule import Schedule, learning_rate_schedule
from .summary import finish
from .validation import Validation, evaluate_and_keep_best


@dataclass
class Loop:
    """What the loop turns over: the prepared training batches, the optimizer and its schedule."""

    batches: DataLoader
    faces: Any  # the training dataset, told each epoch (its augmentation follows the epoch)
    optimizer: torch.optim.Optimizer
    scheduler: Any
    schedule: Schedule


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) one training run; returns its summary (also written to the run folder)."""
    from accelerate.logging import get_logger
    from accelerate.utils import set_seed

    accelerator = make_accelerator(config)
    logger = get_logger(__name__)
    set_seed(config.seed)
    if config.deterministic:
        use_deterministic_gpu_kernels(accelerator.device)
    started = time.perf_counter()

    model, processor = model_for(config)
    data = prepare_data(config, processor, accelerator)
    logger.info(f"world size {accelerator.num_processes} on {accelerator.device}; faces: train {len(data.train)}, "
                f"{data.evaluation_name} {len(data.evaluation)}, test {len(data.test)}", main_process_only=True)
    train_loader = train_batches(config, processor, data.train, accelerator.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = Schedule.plan(config, len(train_loader), accelerator.num_processes)
    scheduler = learning_rate_schedule(optimizer, config, schedule.total_steps)
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_batches(data.evaluation, config.batch_size), scheduler)
    validation = Validation(eval_loader, _centroid_loader(config, data, accelerator), data.evaluation_name)
    run = _start_or_resume(config, accelerator, model, processor, logger)

    stopped_early = run_loop(run, Loop(train_loader, data.train, optimizer, scheduler, schedule), validation)
    summary = finish(run, data, schedule, stopped_early, time.perf_counter() - started)
    accelerator.end_training()  # last: it also tears down the process group
    return summary


def use_deterministic_gpu_kernels(device: torch.device) -> None:
    """Deterministic kernels on a GPU, where the fastest (cuDNN's convolution backward, attention's atomics) are
    not. On an H200, without them, a 20-step run resumed at step 10 ended with weights up to 0.16 away from an
    uninterrupted one's; with them, a 10-step run resumed at step 5 ended equal. A CPU's kernels are
    deterministic already."""
    if device.type != "cuda":
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts: before the model runs
    torch.use_deterministic_algorithms(True, warn_only=True)  # a kernel without a deterministic twin warns
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False


def make_accelerator(config: TrainConfig):
    """The run's Accelerator: seedable data order, gradient accumulation, trackers, logs in the run folder."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs, ProjectConfiguration

    output = Path(config.output_dir)
    # accelerate keeps its settings (mixed precision...) in a process-wide singleton: let one process run
    # several trainings (ablations, tests) with their own settings, keeping any distributed process group
    AcceleratorState._reset_state(reset_partial_state=False)
    return Accelerator(
        # without cpu=True, `--multi_gpu` on a CPU machine silently runs separate jobs
        cpu=config.cpu or not torch.cuda.is_available(),
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        log_with=config.report_to or None,
        project_config=ProjectConfiguration(project_dir=str(output), logging_dir=str(output / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def _centroid_loader(config: TrainConfig, data: PreparedData, accelerator: Any) -> DataLoader | None:
    """The unaugmented training faces, for a centroid-scored model's classes (prepared after the others, so
    that the saved state lists the loaders in the same order every run)."""
    if text_tower_is_trained(config):
        return None
    return accelerator.prepare(eval_batches(data.train.without_augmentation(), config.batch_size))


def _start_or_resume(config: TrainConfig, accelerator: Any, model: Any, processor: Any, logger: Any) -> Run:
    """Resume from the latest checkpoint (the step is read from the saved state), start trackers and the log."""
    output = Path(config.output_dir)
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(progress)
    resume_from = latest_checkpoint(output / "checkpoints")
    if resume_from is not None:
        accelerator.load_state(str(resume_from))
        logger.info(f"resumed from {resume_from} at step {progress.step}", main_process_only=True)
    if config.report_to:
        accelerator.init_trackers("affectvlm", config={k: str(v) for k, v in config.to_json().items()})
    metrics_log = MetricsLog(output / "metrics.jsonl", accelerator.is_main_process, progress.step)
    if accelerator.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        (output / "train_config.json").write_text(json.dumps(config.to_json(), indent=2))
    return Run(accelerator, model, processor, config, output, progress, metrics_log, logger)


def run_loop(run: Run, loop: Loop, validation: Validation) -> bool:
    """Train to the last step, epoch by epoch from where the progress stands; True when stopped early as asked."""
    from tqdm.auto import tqdm

    progress, total = run.progress, loop.schedule.total_steps
    bar = tqdm(total=total, initial=progress.step, desc="train", unit="step",
               disable=not run.accelerator.is_local_main_process)
    run.model.train()
    stopped_early = False
    while progress.step < total and not stopped_early:
        stopped_early = _run_epoch(run, loop, validation, bar)
    bar.close()
    return stopped_early


def _run_epoch(run: Run, loop: Loop, validation: Validation, bar: Any) -> bool:
    """The rest of the current epoch (a resumed run skips the batches it consumed); True when stopped early."""
    accelerator, progress = run.accelerator, run.progress
    loop.batches.set_epoch(progress.epoch)
    loop.faces.set_epoch(progress.epoch)
    batches = loop.batches
    if progress.batches_in_epoch:
        batches = accelerator.skip_first_batches(loop.batches, progress.batches_in_epoch)
    for batch in batches:
        outputs = _train_step(run, loop, batch)
        progress.batches_in_epoch += 1
        if not accelerator.sync_gradients:
            continue
        progress.step += 1
        bar.update()
        _log_step(run, loop, batch, outputs, bar)
        if _after_step(run, loop, validation):
            return True
        if progress.step >= loop.schedule.total_steps:
            return False
    progress.epoch += 1
    progress.batches_in_epoch = 0
    return False


def _train_step(run: Run, loop: Loop, batch: dict[str, torch.Tensor]) -> Any:
    """One micro-batch: forward with the loss, backward, and (when the accumulation completes) one step."""
    accelerator = run.accelerator
    torch.manual_seed(_micro_batch_seed(run))
    with accelerator.accumulate(run.model):
        outputs = run.model(**batch, return_loss=True)
        accelerator.backward(outputs.loss)
        if accelerator.sync_gradients and run.config.max_grad_norm > 0:
            accelerator.clip_grad_norm_(run.model.parameters(), run.config.max_grad_norm)
        loop.optimizer.step()
        loop.scheduler.step()
        loop.optimizer.zero_grad()
    return outputs


def _micro_batch_seed(run: Run) -> int:
    """The seed of the model's own random draws (dropout) in this micro-batch on this rank: a function of the
    run's seed and position alone, so a resumed run draws what an uninterrupted one did (the global generator
    it would otherwise inherit also feeds data-loader iterators, which a resume creates more of)."""
    progress = run.progress
    key = [run.config.seed, progress.epoch, progress.batches_in_epoch, run.accelerator.process_index]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def _log_step(run: Run, loop: Loop, batch: dict[str, torch.Tensor], outputs: Any, bar: Any) -> None:
    step = run.progress.step
    if step % run.config.log_every != 0 and step != 1:
        return
    loss = run.accelerator.reduce(outputs.loss.detach(), reduction="mean").item()  # every rank is at this step
    run.log({"step": step, "epoch": run.progress.epoch, "loss": loss, "lr": loop.scheduler.get_last_lr()[0],
             **{f"loss/{name}": float(value.detach()) for name, value in outputs.loss_terms.items()},
             "world_size": run.accelerator.num_processes,
             # rows after the same all-gather the loss terms use: the global batch
             "global_batch": int(gather_features(batch["labels"]).shape[0])})
    bar.set_postfix(loss=f"{loss:.3f}")


def _after_step(run: Run, loop: Loop, validation: Validation) -> bool:
    """Evaluate and checkpoint when due; True (after a checkpoint) when the config asks to stop here."""
    step, schedule, config = run.progress.step, loop.schedule, run.config
    checkpoints = run.output / "checkpoints"
    if schedule.evaluates_at(step):
        evaluate_and_keep_best(run, validation)
    saved = schedule.checkpoints_at(step)
    if saved:
        save_checkpoint(run.accelerator, checkpoints, step, config.keep_checkpoints)
    if config.stop_after_steps and step >= config.stop_after_steps and step < schedule.total_steps:
        if not saved:  # a stop always leaves a checkpoint of its step to resume from
            save_checkpoint(run.accelerator, checkpoints, step, config.keep_checkpoints)
        run.logger.info(f"stopping at step {step} as asked; run again to resume", main_process_only=True)
        return True
    return False
