"""From a rendered cache to training batches: view tensors, augmentation, prompts, labels.

The cached views are already rendered at the model's input size, so the image processor's work reduces to
rescaling and normalising, done here on tensors (after augmentation, which needs unnormalised pixels).
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
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..data.cache import row_views
from .augment import NO_AUGMENTATION, ViewAugmentation, augment_face, augment_sequence


def views_to_tensor(images: Sequence[Any], size: int) -> torch.Tensor:
    """PIL views -> (V, 3, size, size) float in [0, 1], resized only when the cache has another size."""
    array = np.stack([np.asarray(image.convert("RGB")) for image in images])
    views = torch.from_numpy(array).permute(0, 3, 1, 2).float().div_(255.0)
    if views.shape[-1] != size or views.shape[-2] != size:
        views = F.interpolate(views, size=(size, size), mode="bicubic", align_corners=False).clamp_(0, 1)
    return views


class RenderedFaces(Dataset):
    """A rendered cache (`datasets.Dataset` of a 3D protocol split) as model-ready, optionally augmented views.

    Items: {"pixel_values": (V, 3, H, W) normalised, "label": class index, "metadata": dict, "seed": the
    item's random seed for this epoch (the collator derives the batch's prompt seed from these)}.
    Call `set_epoch` at the start of each epoch so that augmentations differ between epochs.
    """

    def __init__(
        self,
        rendered,
        labels: Sequence[str],
        num_views: int,
        image_size: int,
        image_mean: Sequence[float],
        image_std: Sequence[float],
        augmentation: ViewAugmentation = NO_AUGMENTATION,
        seed: int = 0,
    ) -> None:
        self.rendered = rendered
        self.labels = list(labels)
        self.num_views = num_views
        self.image_size = image_size
        self.mean = torch.tensor(image_mean).view(1, 3, 1, 1)
        self.std = torch.tensor(image_std).view(1, 3, 1, 1)
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

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rendered[int(index)]
        frames = row_views(row, self.num_views)
        if len(frames) != 1:
            raise ValueError(f"{row['key']}: a sequence of {len(frames)} frames in a 3D dataset")
        views = views_to_tensor(frames[0], self.image_size)
        item_seed = hash((self.seed, self.epoch, int(index))) % (2**63)
        views = augment_face(views, self.augmentation, torch.Generator().manual_seed(item_seed))
        return {
            "pixel_values": (views - self.mean) / self.std,
            "label": self.labels.index(row["label"]),
            "metadata": json.loads(row["metadata"]),
            "seed": item_seed,
        }


class RenderedSequences(RenderedFaces):
    """4D rows of a rendered cache: `num_frames` frames spread evenly over each sequence, as
    {"pixel_values": (frames, views, 3, H, W), ...}. With `jitter`, each chosen frame moves by up to half the
    spacing, so training sees other frames of the same sequences every epoch."""

    def __init__(self, *args, num_frames: int = 8, jitter: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.num_frames = num_frames
        self.jitter = jitter

    def without_augmentation(self) -> "RenderedSequences":
        plain = super().without_augmentation()
        plain.jitter = False  # evenly spread frames, as evaluation sees them
        return plain

    def frame_indices(self, count: int, generator: torch.Generator) -> list[int]:
        positions = torch.linspace(0, count - 1, self.num_frames)
        if self.jitter and count > self.num_frames:
            spacing = (count - 1) / max(self.num_frames - 1, 1)
            positions = positions + (torch.rand(self.num_frames, generator=generator) - 0.5) * spacing
        return positions.round().clamp(0, count - 1).long().tolist()

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rendered[int(index)]
        frames = row_views(row, self.num_views)
        item_seed = hash((self.seed, self.epoch, int(index))) % (2**63)
        generator = torch.Generator().manual_seed(item_seed)
        clip = torch.stack([views_to_tensor(frames[i], self.image_size) for i in self.frame_indices(len(frames), generator)])
        clip = augment_sequence(clip, self.augmentation, generator)
        return {
            "pixel_values": (clip - self.mean) / self.std,
            "label": self.labels.index(row["label"]),
            "metadata": json.loads(row["metadata"]),
            "seed": item_seed,
        }


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
