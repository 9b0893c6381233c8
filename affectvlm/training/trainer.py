"""The AffectVLM training loop on accelerate: one code path for one CPU, one GPU, many GPUs or nodes.

A run: index the dataset, split it by subject (protocol + fold), render every selected face once into the
cache, train with AdamW + warm-up + cosine over the global batch, evaluate with `gather_for_metrics`, keep
the best model, checkpoint atomically and resume at the exact step with the same data order.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..data.protocols import Split, get_protocol
from ..evaluation.metrics import classification_metrics
from ..model.configuration_affectvlm import BASIC_EMOTIONS as SIX_EMOTIONS
from ..model.losses_affectvlm import LOSS_TERMS, gather_features
from ..synthetic.output import is_synthetic, synthetic_command
from .augment import NO_AUGMENTATION, ViewAugmentation
from .checkpoints import TrainingProgress, latest_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import PromptCollator, RenderedFaces, RenderedSequences
from .models import build_model, view_subset


@dataclass
class PreparedData:
    train: RenderedFaces
    evaluation: RenderedFaces
    test: RenderedFaces
    evaluation_name: str  # "validation", or "test" when the protocol has no validation set


def protocol_for(config: TrainConfig):
    overrides = {"folds": config.folds, "num_subjects": config.num_subjects}
    if config.labels:
        overrides["labels"] = tuple(config.labels)
    return get_protocol(config.protocol or config.layout, **overrides)


def split_for(config: TrainConfig) -> Split:
    """The protocol split of the configured data and fold (no mesh is loaded)."""
    from ..data.loading import scan_dataset

    return protocol_for(config).split(scan_dataset(config.data_dir, config.layout, on_error=config.on_error), config.fold)


def rendered_split(config: TrainConfig, processor: Any, split: Split, accelerator: Any, progress: bool = True):
    """Render the split's faces once (main process first; the others then find the cache) and cut it up."""
    from ..data.cache import RenderSettings, render_split

    with accelerator.main_process_first():
        return render_split(split, RenderSettings.from_processor(processor), config.cache_dir, config.layout,
                            config.render_workers, config.on_error, progress and accelerator.is_local_main_process)


def prepare_data(config: TrainConfig, processor: Any, accelerator: Any) -> PreparedData:
    split = split_for(config)
    parts = rendered_split(config, processor, split, accelerator)
    common = dict(labels=processor.emotion_labels, processor=processor, seed=config.seed)
    augmentation = (ViewAugmentation(view_dropout=config.view_dropout, view_shuffle=config.view_shuffle)
                    if config.view_augmentation else NO_AUGMENTATION)
    evaluation_name = "validation" if len(parts["validation"]) else "test"
    faces, train_extra = RenderedFaces, {}
    if protocol_for(config).sequences:
        faces = functools.partial(RenderedSequences, num_frames=config.num_frames)
        train_extra = {"jitter": True}
    train = faces(parts["train"], augmentation=augmentation, **common, **train_extra)
    if config.render_on_the_fly:
        from .on_the_fly import MeshFaces

        rendered = set(parts["train"]["key"])  # samples that failed to render (skipped) stay out
        train = MeshFaces([s for s in split.train if s.key in rendered], processor.emotion_labels,
                          processor.mesh_limits, config.seed, cached=train)
    return PreparedData(
        train=train,
        evaluation=faces(parts[evaluation_name], **common),
        test=faces(parts["test"], **common),
        evaluation_name=evaluation_name,
    )


def _train_collator(config: TrainConfig, processor: Any, train: Any) -> PromptCollator:
    if not config.render_on_the_fly:
        return PromptCollator(processor, config.augment_prompts)
    from .on_the_fly import CameraJitter, RenderingCollator

    return RenderingCollator(processor, CameraJitter.parse(config.camera_jitter), train.cached.augmentation,
                             config.augment_prompts)


def model_overrides(config: TrainConfig) -> dict[str, Any]:
    renders = {"render_mode": config.render_mode, "image_size": config.image_size}
    return {
        **{key: value for key, value in renders.items() if value is not None},
        "views": view_subset(config.num_views),
        "view_fusion": config.view_fusion,
        "temporal_pooling": config.temporal_pooling,
        "emotion_labels": list(config.labels or SIX_EMOTIONS),
        "loss_weights": {term: float(config.loss_weights.get(term, 0.0)) for term in LOSS_TERMS},
        "class_scorer": "prompts" if text_tower_is_trained(config) else "centroids",
    }


def text_tower_is_trained(config: TrainConfig) -> bool:
    """Without InfoNCE or cross-entropy nothing aligns the prompts with faces: score by class centroids."""
    return config.loss_weights.get("infonce", 0) > 0 or config.loss_weights.get("cross_entropy", 0) > 0


def _eval_batches(dataset: RenderedFaces, batch_size: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=_stack_views)


def _stack_views(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    return {"pixel_values": torch.stack([item["pixel_values"] for item in items]),
            "labels": torch.tensor([item["label"] for item in items])}


@torch.no_grad()
def face_embeddings(model: Any, loader: DataLoader, accelerator: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Face embeddings and labels of every sample, gathered from all processes (padding dropped)."""
    model.eval()
    embeddings, labels = [], []
    for batch in loader:
        output = model(pixel_values=batch["pixel_values"])
        gathered = accelerator.gather_for_metrics((output.face_embeds.float(), batch["labels"]))
        embeddings.append(gathered[0].cpu())
        labels.append(gathered[1].cpu())
    return torch.cat(embeddings), torch.cat(labels)


def class_centroids(embeddings: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Unit-norm mean embedding per class (zero for a class without samples)."""
    sums = torch.zeros(num_classes, embeddings.shape[1]).index_add_(0, labels, embeddings)
    return torch.nn.functional.normalize(sums, dim=-1)


def store_class_centroids(model: Any, loader: DataLoader, accelerator: Any) -> None:
    """Set a centroid-scored model's classes from the training faces: saved with its weights, so the model
    that ships scores exactly as the one evaluated here."""
    unwrapped = accelerator.unwrap_model(model)
    embeddings, truth = face_embeddings(model, loader, accelerator)
    centroids = class_centroids(embeddings, truth, len(unwrapped.config.emotion_labels))
    unwrapped.set_class_centroids(centroids.to(unwrapped.class_centroids))


@torch.no_grad()
def evaluate(model: Any, loader: DataLoader, accelerator: Any, labels: list[str]) -> dict[str, Any]:
    """Metrics of the model's own predictions (its logits: the one scorer), gathered from all processes."""
    model.eval()
    truth, predictions = [], []
    for batch in loader:
        logits = model(pixel_values=batch["pixel_values"]).logits
        gathered = accelerator.gather_for_metrics((logits.argmax(dim=-1), batch["labels"]))
        predictions.append(gathered[0].cpu())
        truth.append(gathered[1].cpu())
    model.train()
    return classification_metrics(torch.cat(truth).tolist(), torch.cat(predictions).tolist(), labels)


def _schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    from transformers import get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

    if config.lr_schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, config.warmup_steps)
    make = get_cosine_schedule_with_warmup if config.lr_schedule == "cosine" else get_linear_schedule_with_warmup
    return make(optimizer, config.warmup_steps, total_steps)


class MetricsLog:
    """metrics.jsonl in the run folder (main process only); a resumed run drops entries past its step."""

    def __init__(self, path: Path, enabled: bool, resume_step: int) -> None:
        self.path, self.enabled = path, enabled
        if enabled and path.exists():
            kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= resume_step]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line] if self.path.exists() else []


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) one training run; returns its summary (also written to the run folder)."""
    from accelerate import Accelerator
    from accelerate.logging import get_logger
    from accelerate.state import AcceleratorState
    from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs, ProjectConfiguration, set_seed
    from tqdm.auto import tqdm

    output = Path(config.output_dir)
    use_cpu = config.cpu or not torch.cuda.is_available()
    # accelerate keeps its settings (mixed precision...) in a process-wide singleton: let one process run
    # several trainings (ablations, tests) with their own settings, keeping any distributed process group
    AcceleratorState._reset_state(reset_partial_state=False)
    accelerator = Accelerator(
        cpu=use_cpu,  # without cpu=True, `--multi_gpu` on a CPU machine silently runs separate jobs
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        log_with=config.report_to or None,
        project_config=ProjectConfiguration(project_dir=str(output), logging_dir=str(output / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    logger = get_logger(__name__)
    set_seed(config.seed)
    started = time.perf_counter()

    model, processor = build_model(config.model_preset, config.checkpoint, config.clip, **model_overrides(config))
    data = prepare_data(config, processor, accelerator)
    logger.info(
        f"world size {accelerator.num_processes} on {accelerator.device}; faces: train {len(data.train)}, "
        f"{data.evaluation_name} {len(data.evaluation)}, test {len(data.test)}", main_process_only=True,
    )
    train_loader = DataLoader(data.train, batch_size=config.batch_size, shuffle=True, drop_last=True,
                              collate_fn=_train_collator(config, processor, data.train),
                              num_workers=config.dataloader_workers)
    if len(train_loader) == 0:
        raise ValueError(f"{len(data.train)} training faces are fewer than one batch of {config.batch_size}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train_loader) / accelerator.num_processes / config.gradient_accumulation_steps)
    total_steps = config.max_steps or max(1, round(config.epochs * steps_per_epoch))
    scheduler = _schedule(optimizer, config, total_steps)
    eval_loader = _eval_batches(data.evaluation, config.batch_size)
    centroid_loader = None if text_tower_is_trained(config) else _eval_batches(data.train.without_augmentation(), config.batch_size)
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler
    )
    if centroid_loader is not None:
        centroid_loader = accelerator.prepare(centroid_loader)
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(progress)

    checkpoints = output / "checkpoints"
    resume_from = latest_checkpoint(checkpoints)
    if resume_from is not None:
        accelerator.load_state(str(resume_from))
        logger.info(f"resumed from {resume_from} at step {progress.step}", main_process_only=True)
    if config.report_to:
        accelerator.init_trackers("affectvlm", config={k: str(v) for k, v in config.to_json().items()})
    metrics_log = MetricsLog(output / "metrics.jsonl", accelerator.is_main_process, progress.step)
    if accelerator.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        (output / "train_config.json").write_text(json.dumps(config.to_json(), indent=2))

    eval_every = config.eval_every or steps_per_epoch
    checkpoint_every = config.checkpoint_every or steps_per_epoch
    labels = list(processor.emotion_labels)
    bar = tqdm(total=total_steps, initial=progress.step, desc="train", unit="step",
               disable=not accelerator.is_local_main_process)
    model.train()
    stopped_early = False
    while progress.step < total_steps and not stopped_early:
        train_loader.set_epoch(progress.epoch)
        data.train.set_epoch(progress.epoch)
        batches = train_loader
        if progress.batches_in_epoch:
            batches = accelerator.skip_first_batches(train_loader, progress.batches_in_epoch)
        for batch in batches:
            with accelerator.accumulate(model):
                outputs = model(**batch, return_loss=True)
                accelerator.backward(outputs.loss)
                if accelerator.sync_gradients and config.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            progress.batches_in_epoch += 1
            if not accelerator.sync_gradients:
                continue
            progress.step += 1
            bar.update()
            loss = accelerator.reduce(outputs.loss.detach(), reduction="mean").item()
            if progress.step % config.log_every == 0 or progress.step == 1:
                record = {"step": progress.step, "epoch": progress.epoch, "loss": loss,
                          "lr": scheduler.get_last_lr()[0],
                          **{f"loss/{name}": float(value.detach()) for name, value in outputs.loss_terms.items()},
                          "world_size": accelerator.num_processes,
                          # rows after the same all-gather the loss terms use: the global batch
                          "global_batch": int(gather_features(batch["labels"]).shape[0])}
                metrics_log.write(record)
                accelerator.log({k: v for k, v in record.items() if k != "step"}, step=progress.step)
                bar.set_postfix(loss=f"{loss:.3f}")
            if progress.step % eval_every == 0 or progress.step == total_steps:
                _evaluate_and_keep_best(model, eval_loader, centroid_loader, accelerator, labels, processor,
                                        progress, config, data.evaluation_name, metrics_log, output, logger)
            if progress.step % checkpoint_every == 0 or progress.step == total_steps:
                save_checkpoint(accelerator, checkpoints, progress.step, config.keep_checkpoints)
            if config.stop_after_steps and progress.step >= config.stop_after_steps and progress.step < total_steps:
                save_checkpoint(accelerator, checkpoints, progress.step, config.keep_checkpoints)
                logger.info(f"stopping at step {progress.step} as asked; run again to resume", main_process_only=True)
                stopped_early = True
                break
            if progress.step >= total_steps:
                break
        else:
            progress.epoch += 1
            progress.batches_in_epoch = 0
    bar.close()
    summary = _finish(config, accelerator, model, processor, progress, data, stopped_early,
                      total_steps, time.perf_counter() - started, output)
    accelerator.end_training()  # last: it also tears down the process group
    return summary


def _evaluate_and_keep_best(model, eval_loader, centroid_loader, accelerator, labels, processor, progress,
                            config, evaluation_name, metrics_log, output, logger) -> None:
    if centroid_loader is not None:
        store_class_centroids(model, centroid_loader, accelerator)
    metrics = evaluate(model, eval_loader, accelerator, labels)
    record = {"step": progress.step, "epoch": progress.epoch, f"{evaluation_name}/accuracy": metrics["accuracy"],
              f"{evaluation_name}/macro_f1": metrics["macro_f1"]}
    metrics_log.write(record)
    accelerator.log({k: v for k, v in record.items() if k != "step"}, step=progress.step)
    logger.info(f"step {progress.step}: {evaluation_name} accuracy {metrics['accuracy']:.3f}, "
                f"macro-F1 {metrics['macro_f1']:.3f}", main_process_only=True)
    if config.target_accuracy is not None and progress.steps_to_target is None \
            and metrics["accuracy"] >= config.target_accuracy:
        progress.steps_to_target = progress.step
    if metrics["accuracy"] > progress.best_accuracy:
        progress.best_accuracy, progress.best_step = metrics["accuracy"], progress.step
        _save_model(accelerator, model, processor, output / "best")


def _save_model(accelerator, model, processor, folder: Path) -> None:
    """save_pretrained (safetensors) of model and processor, on the main process; written beside, then renamed."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        import shutil

        staging = folder.with_name(f".staging-{folder.name}")
        shutil.rmtree(staging, ignore_errors=True)
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.save_pretrained(staging, safe_serialization=True)
        processor.save_pretrained(staging)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    accelerator.wait_for_everyone()


def _finish(config, accelerator, model, processor, progress, data, stopped_early, total_steps, seconds, output):
    """Save the final model; score the best model on the test split; write the summary, results and plots."""
    from ..evaluation.plots import plot_training_curves
    from ..evaluation.report import dataset_entry, fold_results

    summary = {"stopped_early": stopped_early, "steps": progress.step, "total_steps": total_steps,
               "world_size": accelerator.num_processes,
               "rank_parameter_checksums": _check_ranks_agree(accelerator, model)}
    if stopped_early:
        return summary
    _save_model(accelerator, model, processor, output / "final")
    best = output / "best"
    if best.is_dir():
        from safetensors.torch import load_file

        accelerator.unwrap_model(model).load_state_dict(load_file(str(best / "model.safetensors")), strict=False)
    labels = list(processor.emotion_labels)
    test_loader = accelerator.prepare(_eval_batches(data.test, config.batch_size))
    test_metrics = evaluate(model, test_loader, accelerator, labels)  # the best model as saved, centroids and all
    summary.update({
        "command": config_command(config),
        "dataset": dataset_entry(config.layout, config.protocol or config.layout, config.data_dir,
                                 synthetic=is_synthetic(config.data_dir)),
        "data_command": synthetic_command(config.data_dir),
        "fold": config.fold,
        "epochs": round(progress.step / max(1, math.ceil(len(data.train) / config.batch_size / accelerator.num_processes)), 2),
        "batch_size": config.batch_size * accelerator.num_processes * config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "loss_weights": {term: float(config.loss_weights.get(term, 0.0)) for term in LOSS_TERMS},
        "seed": config.seed,
        "wall_time_s": round(seconds, 1),
        "hardware": f"{accelerator.num_processes} x {accelerator.device.type}",
        "base_model": config.clip or config.checkpoint,
        "classifier": "class prompts" if text_tower_is_trained(config) else "class centroids (saved with the weights)",
        "best_step": progress.best_step,
        f"best_{data.evaluation_name}_accuracy": progress.best_accuracy,
        "steps_to_target": progress.steps_to_target,
        "target_accuracy": config.target_accuracy,
        "test": {key: test_metrics[key] for key in ("num_samples", "accuracy", "macro_f1")},
    })
    if accelerator.is_main_process:
        (output / "training_summary.json").write_text(json.dumps(summary, indent=2))
        results = fold_results([{"fold": config.fold, **test_metrics}], labels, model=str(best),
                               dataset=summary["dataset"], command=summary["command"])
        (output / "test_results.json").write_text(json.dumps(results, indent=2))
        for folder in (best, output / "final"):
            if folder.is_dir():
                (folder / "training_summary.json").write_text(json.dumps(summary, indent=2))
        plot_training_curves(MetricsLog(output / "metrics.jsonl", False, 0).records(), output / "training_curves.png",
                             title=f"{config.layout} fold {config.fold}")
    accelerator.wait_for_everyone()
    return summary


def _check_ranks_agree(accelerator, model) -> list[list[float]]:
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
        if value == defaults.get(key) and key != "data_dir":
            continue
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
