"""The data side of a run: the protocol split, the rendered cache cut into train / evaluation / test faces, and
the loaders and collators that turn those faces into batches."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..data.protocols import Split, get_protocol
from .augment import NO_AUGMENTATION, ViewAugmentation
from .config import TrainConfig
from .data import PromptCollator, RenderedFaces, RenderedSequences


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
    from ..data.cache import CacheBuild, RenderSettings, render_split

    build = CacheBuild(config.cache_dir, config.layout, config.render_workers, config.on_error,
                       progress and accelerator.is_local_main_process)
    with accelerator.main_process_first():
        return render_split(split, RenderSettings.from_processor(processor), build)


def prepare_data(config: TrainConfig, processor: Any, accelerator: Any) -> PreparedData:
    split = split_for(config)
    parts = rendered_split(config, processor, split, accelerator)
    common = dict(labels=processor.emotion_labels, processor=processor, seed=config.seed)
    augmentation = (ViewAugmentation(view_dropout=config.view_dropout, view_shuffle=config.view_shuffle)
                    if config.view_augmentation else NO_AUGMENTATION)
    evaluation_name = "validation" if len(parts["validation"]) else "test"
    faces, train_extra = RenderedFaces, {}
    if protocol_for(config).sequences:
        faces = functools.partial(RenderedSequences, num_frames=config.num_frames, frame_sampling=config.frame_sampling)
        train_extra = {"jitter": True}
    train = faces(parts["train"], augmentation=augmentation, **common, **train_extra)
    if config.render_on_the_fly:
        from .on_the_fly import MeshFaces

        rendered = set(parts["train"]["key"])  # samples that failed to render (skipped) stay out
        train = MeshFaces([s for s in split.train if s.key in rendered], processor.emotion_labels,
                          processor.mesh_limits, processor.render_settings.alignment, config.seed, cached=train)
    return PreparedData(
        train=train,
        evaluation=faces(parts[evaluation_name], **common),
        test=faces(parts["test"], **common),
        evaluation_name=evaluation_name,
    )


def train_batches(config: TrainConfig, processor: Any, train: Any, device: torch.device | str = "cpu") -> DataLoader:
    """Shuffled, full batches of training faces with their prompts (rendered here when on the fly: on `device`
    when it is a GPU and the batches are made in the training process)."""
    loader = DataLoader(train, batch_size=config.batch_size, shuffle=True, drop_last=True,
                        collate_fn=_train_collator(config, processor, train, device),
                        num_workers=config.dataloader_workers)
    if len(loader) == 0:
        raise ValueError(f"{len(train)} training faces are fewer than one batch of {config.batch_size}")
    return loader


def _train_collator(config: TrainConfig, processor: Any, train: Any, device: torch.device | str) -> PromptCollator:
    if not config.render_on_the_fly:
        return PromptCollator(processor, config.augment_prompts)
    from .on_the_fly import CameraJitter, RenderingCollator

    # DataLoader workers are forked processes, where CUDA cannot run: they render on their CPU cores
    render_device = device if config.dataloader_workers == 0 else "cpu"
    return RenderingCollator(processor, CameraJitter.parse(config.camera_jitter), train.cached.augmentation,
                             config.augment_prompts, render_device)


def eval_batches(dataset: RenderedFaces, batch_size: int) -> DataLoader:
    """Faces in order, views and labels only: what scoring needs."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=_stack_views)


def _stack_views(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    return {"pixel_values": torch.stack([item["pixel_values"] for item in items]),
            "labels": torch.tensor([item["label"] for item in items])}
