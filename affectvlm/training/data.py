"""From a rendered cache to training batches: view tensors, augmentation, prompts, labels.

The cached views are what the processor renders; they become pixel values through the processor's own
`unit_pixels` and `normalize_pixels`, with augmentation between the two (it needs unnormalised pixels).
Every random choice is seeded by (seed, epoch, sample index), never by worker or process, so an
interrupted run that resumes sees exactly the same augmented batches.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.cache import row_views
from ..model.processing_affectvlm import sample_frame_indices, unit_pixels, view_displacement
from .augment import NO_AUGMENTATION, ViewAugmentation, augment_face, augment_sequence


class RenderedFaces(Dataset):
    """A rendered cache (`datasets.Dataset` of a 3D protocol split) as model-ready, optionally augmented views.

    Items: {"pixel_values": (V, 3, H, W) normalised, "label": class index, "metadata": dict, "seed": the
    item's random seed for this epoch (the collator derives the batch's prompt seed from these)}. Pixels take
    the processor's own path (`unit_pixels`, augmentation, `normalize_pixels`), so with augmentation off a
    cached face gives exactly the pixel values `processor(meshes=...)` gives.
    Call `set_epoch` at the start of each epoch so that augmentations differ between epochs.
    """

    def __init__(self, rendered, labels: Sequence[str], processor: Any,
                 augmentation: ViewAugmentation = NO_AUGMENTATION, seed: int = 0) -> None:
        self.rendered = rendered
        self.labels = list(labels)
        self.processor = processor
        self.num_views = len(processor.views)
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0
        unknown = sorted(set(rendered["label"]) - set(self.labels))
        if unknown:
            raise ValueError(f"the rendered data has labels {unknown} that the model does not know ({self.labels})")

    def without_augmentation(self) -> "RenderedFaces":
        """The same faces, unaugmented (to embed the training set for evaluation)."""
        plain = copy.copy(self)
        plain.augmentation = NO_AUGMENTATION
        return plain

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rendered)

    def item_seed(self, index: int) -> int:
        """The random seed of one item in this epoch: the same after a resume, whatever the worker."""
        return hash((self.seed, self.epoch, int(index))) % (2**63)

    def _item(self, row: dict[str, Any], pixel_values: torch.Tensor, seed: int) -> dict[str, Any]:
        return {
            "pixel_values": pixel_values,
            "label": self.labels.index(row["label"]),
            "metadata": json.loads(row["metadata"]),
            "seed": seed,
        }

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rendered[int(index)]
        frames = row_views(row, self.num_views)
        if len(frames) != 1:
            raise ValueError(f"{row['key']}: a sequence of {len(frames)} frames in a 3D dataset")
        seed = self.item_seed(index)
        views = augment_face(unit_pixels(frames[0], self.processor.pixel_size), self.augmentation,
                             torch.Generator().manual_seed(seed), self.processor.render_mode)
        return self._item(row, self.processor.normalize_pixels(views), seed)


class RenderedSequences(RenderedFaces):
    """4D rows of a rendered cache: `num_frames` frames spread evenly over each sequence (or over the half of
    it around its apex, `frame_sampling="apex"`), as
    {"pixel_values": (frames, views, 3, H, W), ...}. With `jitter`, each chosen frame moves by up to half the
    spacing (`sample_frame_indices`), so training sees other frames of the same sequences every epoch."""

    def __init__(self, *args, num_frames: int = 8, jitter: bool = False, frame_sampling: str = "uniform",
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.num_frames = num_frames
        self.jitter = jitter
        self.frame_sampling = frame_sampling

    def without_augmentation(self) -> "RenderedSequences":
        plain = super().without_augmentation()
        plain.jitter = False  # evenly spread frames, as evaluation sees them
        return plain

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rendered[int(index)]
        frames = row_views(row, self.num_views)
        seed = self.item_seed(index)
        jitter = np.random.default_rng(seed) if self.jitter else None
        size = self.processor.pixel_size
        if self.frame_sampling == "apex":  # every frame decoded, to find the apex
            every = torch.stack([unit_pixels(frame, size) for frame in frames])
            chosen = sample_frame_indices(len(frames), self.num_frames, "apex", view_displacement(every), jitter)
            clip = every[chosen]
        else:
            chosen = sample_frame_indices(len(frames), self.num_frames, jitter=jitter)
            clip = torch.stack([unit_pixels(frames[index], size) for index in chosen])
        clip = augment_sequence(clip, self.augmentation, torch.Generator().manual_seed(seed),
                                self.processor.render_mode)
        return self._item(row, self.processor.normalize_pixels(clip), seed)


class PromptCollator:
    """Stacks items into a batch and adds their prompts (augmented or fixed) through the processor."""

    def __init__(self, processor: Any, augment_prompts: bool = True) -> None:
        self.processor = processor
        self.augment_prompts = augment_prompts

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        labels = [item["label"] for item in items]
        prompt_seed = hash(tuple(item["seed"] for item in items)) % (2**31)
        text = self.processor(
            labels=labels,
            metadata=[item["metadata"] for item in items],
            augment_prompts=self.augment_prompts,
            prompt_seed=prompt_seed,
        )
        return {
            "pixel_values": torch.stack([item["pixel_values"] for item in items]),
            "input_ids": text["input_ids"],
            "attention_mask": text["attention_mask"],
            "labels": text["labels"],
        }
