"""On-the-fly rendering (`--render-on-the-fly`): training faces drawn in the loop, each view from a camera
jittered in yaw, pitch and roll, so training never sees the same picture of a face twice.

The DataLoader yields faces prepared as the processor prepares them, read and fitted once per process and
then kept (reading a VRML face and fitting it took 0.08 s, over 90% of a step's data time when done every
step). The collator renders the whole batch in one `render_prepared_faces` call, each face with its own
cameras, then augments, normalises and adds prompts through the processor's pixel path, as the cached path
does. Training on a CUDA device renders there, with the "cuda" backend's same pictures, and the views never
leave the GPU. Every random choice comes from the item's seed (seed, epoch, sample index), so a resumed run
replays exactly. Evaluation keeps the cached, unjittered views.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from ..data.loading import load_sample
from ..data.samples import FaceSample
from ..model.meshes_affectvlm import FaceMesh
from ..model.preprocessing_affectvlm import FaceAlignment
from ..model.processing_affectvlm import RenderSettings, prepare_face, render_prepared_faces, unit_pixels
from ..model.rendering_affectvlm import ViewSpec
from .augment import NO_AUGMENTATION, ViewAugmentation, augment_face
from .data import PromptCollator


@dataclass(frozen=True)
class CameraJitter:
    """Bounds, in degrees, of the uniform noise added to each view's yaw, pitch and roll."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    @classmethod
    def parse(cls, values: Sequence[float]) -> "CameraJitter":
        """[all] or [yaw, pitch, roll]."""
        values = [float(value) for value in values]
        if len(values) not in (1, 3) or any(value < 0 for value in values):
            raise ValueError(f"camera jitter takes one or three non-negative angles (yaw, pitch, roll), got {values}")
        return cls(*(values * 3 if len(values) == 1 else values))


def jittered_views(views: Sequence[ViewSpec], jitter: CameraJitter, generator: torch.Generator) -> list[ViewSpec]:
    """Each camera moved by its own draw within the jitter bounds around its nominal angles."""
    noise = (torch.rand(len(views), 3, generator=generator, dtype=torch.float64) * 2 - 1).tolist()
    return [ViewSpec(view.name, view.yaw + yaw * jitter.yaw, view.pitch + pitch * jitter.pitch,
                     view.roll + roll * jitter.roll) for view, (yaw, pitch, roll) in zip(views, noise)]


class MeshFaces(Dataset):
    """A 3D split's samples as prepared faces (`prepare_face` with the processor's alignment) with label,
    metadata and the item's seed for this epoch. Each face is read and prepared once per process and kept (about
    0.26 MB a face of 4.5k vertices): in the training process when batches are made there (no DataLoader
    workers, as on a GPU); workers, restarted every epoch, prepare again.

    `cached`: the same faces' cached renders, used where unaugmented views are wanted (class centroids).
    """

    def __init__(self, samples: Sequence[FaceSample], labels: Sequence[str], limits: Any,
                 alignment: FaceAlignment | None, seed: int, cached: Any) -> None:
        if any(sample.is_sequence for sample in samples):
            raise ValueError("on-the-fly rendering draws 3D faces; this split has sequences")
        self.samples, self.labels, self.limits, self.seed, self.cached = list(samples), list(labels), limits, seed, cached
        self.alignment = alignment
        self.epoch = 0
        self._prepared: dict[int, FaceMesh] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def without_augmentation(self):
        return self.cached.without_augmentation()

    def __len__(self) -> int:
        return len(self.samples)

    def prepared_face(self, index: int) -> FaceMesh:
        if index not in self._prepared:
            mesh = load_sample(self.samples[index], self.limits)[0]
            self._prepared[index] = prepare_face(mesh, self.alignment)
        return self._prepared[index]

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[int(index)]
        return {
            "prepared_face": self.prepared_face(int(index)),
            "label": self.labels.index(sample.label),
            "metadata": dict(sample.metadata),
            "seed": hash((self.seed, self.epoch, int(index))) % (2**63),
        }


def settings_for_device(settings: RenderSettings, device: torch.device | str) -> RenderSettings:
    """The processor's render settings, drawn by the "cuda" backend when training runs on a CUDA device."""
    return dataclasses.replace(settings, backend="cuda") if torch.device(device).type == "cuda" else settings


class RenderingCollator(PromptCollator):
    """Renders a batch of meshes in one call, each face from its own jittered cameras, then augments each face
    and normalises its views through the processor as `RenderedFaces` does, and adds the prompts. `device`:
    where the views are drawn and stay (a CUDA device, or the CPU)."""

    def __init__(self, processor: Any, jitter: CameraJitter, augmentation: ViewAugmentation = NO_AUGMENTATION,
                 augment_prompts: bool = True, device: torch.device | str = "cpu") -> None:
        super().__init__(processor, augment_prompts)
        self.jitter, self.augmentation = jitter, augmentation
        self.settings = settings_for_device(processor.render_settings, device)

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        generators = [torch.Generator().manual_seed(item["seed"]) for item in items]
        views = [jittered_views(self.processor.view_specs, self.jitter, generator) for generator in generators]
        prepared = [item.pop("prepared_face") for item in items]
        images = render_prepared_faces(prepared, self.settings, views, as_tensor=True)
        size = self.processor.pixel_size
        for item, face, generator in zip(items, images, generators):
            face = augment_face(unit_pixels(face, size), self.augmentation, generator, self.processor.render_mode)
            item["pixel_values"] = self.processor.normalize_pixels(face)
        return super().__call__(items)
