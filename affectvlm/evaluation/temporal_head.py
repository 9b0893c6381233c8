"""A temporal head for a trained 3D model, and what it is worth against frame-level baselines.

The vision tower, the view fusion and the text tower stay frozen: every frame of every sequence is embedded
once, and only the frame pooling learns, on those embeddings. So the model's 3D outputs cannot change (3D
input never reaches the frame pooling), training takes seconds, and every way of reading a sequence compares
on exactly the same frame embeddings:

    temporal head   the trained frame pooling (a temporal transformer by default) over the sampled frames
    mean            the mean of the frames' embeddings, scored like one face
    vote            a majority vote of the frames' own predictions
    expressive vote the same vote among the frames the model does not call neutral (all frames when it calls
                    every one neutral, or has no neutral class): frames before the onset and after the offset
                    abstain instead of voting for whichever emotion a neutral face is nearest to
    oracle frame    the one frame that scores the true class highest (an upper bound on picking one frame)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from ..data.cache import CacheBuild, RenderSettings, build_rendered_dataset, row_views
from ..model.pooling_affectvlm import frame_pooling
from ..model.processing_affectvlm import sample_frame_indices
from .metrics import mean_std

METHODS = ("temporal head", "mean", "vote", "expressive vote", "oracle frame")


@dataclass(frozen=True)
class EmbeddedSequence:
    """One sequence's frame embeddings (frames, dim) from the frozen model, with its label and subject."""

    key: str
    label: int
    subject: str
    frames: torch.Tensor


@dataclass(frozen=True)
class HeadTraining:
    """How the temporal head is fitted: its kind (a `temporal_pooling` of the config: "transformer" reads the
    frames in order, "attention" scores each frame alone), frames sampled per sequence (jittered per step),
    steps, rate, seed."""

    pooling: str = "transformer"
    num_frames: int = 16
    steps: int = 400
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0


@torch.no_grad()
def embed_frames(model, processor, frames: Sequence[Sequence[Image.Image]], chunk: int = 16) -> torch.Tensor:
    """(frames, dim) unit-norm face embeddings of a sequence's rendered frames (each a list of its views, as the
    rendered cache holds them), through the processor's pixel path and the frozen model's 3D path, `chunk`
    frames at a time."""
    return torch.cat([model.get_face_features(part) for part in processor.pixel_values(frames).split(chunk)])


def embed_sequences(model, processor, samples: Sequence, label_index: dict[str, int],
                    build: CacheBuild) -> list[EmbeddedSequence]:
    """Every sample (a FaceSample of a sequence layout) embedded frame by frame. The frames are read, aligned
    and rendered by `build`'s worker processes into the rendered cache (which a later run reuses), as training
    renders its faces: that is most of the work, the embedding a small part."""
    rendered = build_rendered_dataset(samples, RenderSettings.from_processor(processor), build)
    views = len(processor.views)
    return [EmbeddedSequence(row["key"], label_index[row["label"]], row["subject"],
                             embed_frames(model, processor, row_views(row, views)))
            for row in tqdm(rendered, desc="embedding frames", unit="sequence")]


def _sampled(sequence: EmbeddedSequence, num_frames: int, first_half: bool = False,
             jitter: np.random.Generator | None = None) -> torch.Tensor:
    frames = sequence.frames[: max(len(sequence.frames) // 2, 1)] if first_half else sequence.frames
    return frames[sample_frame_indices(len(frames), num_frames, jitter=jitter)]


def fit_temporal_head(model, train: Sequence[EmbeddedSequence], settings: HeadTraining,
                      class_embeds: torch.Tensor) -> torch.nn.Module:
    """A fresh frame pooling of the asked kind (the model's config otherwise, starting as the mean) trained
    with cross-entropy over the model's own class scores; frames are resampled with jitter every step."""
    torch.manual_seed(settings.seed)
    config = copy.deepcopy(model.config)
    config.temporal_pooling = settings.pooling
    head = frame_pooling(config)
    model.init_frame_pooling(head)
    optimizer = torch.optim.AdamW(head.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    rng = np.random.default_rng(settings.seed)
    labels = torch.tensor([sequence.label for sequence in train])
    scale = model.logit_scale.exp().detach()
    head.train()
    for _ in range(settings.steps):
        chosen = rng.choice(len(train), size=min(settings.batch_size, len(train)), replace=False)
        batch = torch.stack([_sampled(train[i], settings.num_frames, jitter=rng) for i in chosen])
        pooled, _ = head(batch)
        loss = F.cross_entropy(scale * pooled @ class_embeds.t(), labels[chosen])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return head.eval()


@torch.no_grad()
def method_predictions(model, head: torch.nn.Module, clip: torch.Tensor, label: int, class_embeds: torch.Tensor,
                       classes: Sequence[int]) -> dict[str, int]:
    """Each method's predicted class index for one sampled clip (frames, dim), among `classes` only."""
    allowed = torch.tensor(list(classes))
    scale = model.logit_scale.exp()

    def best(logits: torch.Tensor) -> torch.Tensor:
        return allowed[logits[..., allowed].argmax(-1)]

    def vote(frame_logits: torch.Tensor) -> int:
        votes = torch.bincount(best(frame_logits), minlength=class_embeds.shape[0])
        return int(allowed[votes[allowed].argmax()])

    frame_logits = scale * clip @ class_embeds.t()
    neutral = model.config.label2id.get("neutral", -1)  # -1: no neutral class, every frame is expressive
    expressive = frame_logits.argmax(-1) != neutral
    oracle = int(frame_logits[:, label].argmax())
    return {
        "temporal head": int(best(scale * head(clip[None])[0][0] @ class_embeds.t())),
        "mean": int(best(scale * F.normalize(clip.mean(0), dim=-1) @ class_embeds.t())),
        "vote": vote(frame_logits),
        "expressive vote": vote(frame_logits[expressive] if expressive.any() else frame_logits),
        "oracle frame": int(best(frame_logits[oracle])),
    }


def count_hits(model, head, test: Sequence[EmbeddedSequence], num_frames: int, class_embeds: torch.Tensor,
               classes: Sequence[int]) -> dict[str, dict[str, int]]:
    """How many test sequences each method gets right, on whole sequences and on their first halves."""
    hits = {}
    for part, first_half in (("whole", False), ("first half", True)):
        hits[part] = {method: 0 for method in METHODS}
        for sequence in test:
            predicted = method_predictions(model, head, _sampled(sequence, num_frames, first_half), sequence.label,
                                           class_embeds, classes)
            for method in METHODS:
                hits[part][method] += int(predicted[method] == sequence.label)
    return hits


def summarise(per_seed: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean and std over seeds of each part's and method's accuracy."""
    return {part: {method: mean_std([seed[part][method] for seed in per_seed]) for method in METHODS}
            for part in per_seed[0]}


def with_temporal_head(model, head: torch.nn.Module, pooling: str):
    """A copy of the model whose frame pooling is the trained head, of kind `pooling` (written in the config)."""
    updated = copy.deepcopy(model)
    updated.config.temporal_pooling = pooling
    updated.temporal_pooling = copy.deepcopy(head)
    return updated


__all__ = ["EmbeddedSequence", "HeadTraining", "METHODS", "embed_sequences", "count_hits", "fit_temporal_head",
           "summarise", "with_temporal_head"]
