"""The demo's predict path, free of Gradio: an uploaded file (a mesh, or a .zip of mesh frames) -> Analysis.

Frames are loaded, rendered and scored a few at a time, so a long sequence of large meshes never sits in
memory at once. A sequence's emotion is the model's own: its temporal pooling (mean, attention or transformer)
over the frame embeddings (of every frame, or of the frames around the apex when the visitor asks), exactly
what the model computes for (batch, frames, views, ...) input. Only a .zip is ever written to disk: unpacked
under the caller's `workdir`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ..model.meshes_affectvlm import MESH_READERS, FaceMesh, MeshFormatError, load_mesh
from ..model.processing_affectvlm import sample_frame_indices, view_displacement
from .archives import extract_frames
from .limits import DemoLimits, InputError, megabytes
from .viewer import display_views, glb_bytes

FRAMES_PER_BATCH = 8


@dataclass(frozen=True)
class FrameScores:
    """One face's scores; every dict maps a name to a probability (or weight) and sums to 1."""

    name: str  # what the visitor calls the file: "face.ply", "seq.zip/frame_03.ply"
    emotions: dict[str, float]  # the model's own classes
    view_weights: dict[str, float]  # how much each rendered view contributed to the face embedding
    zero_shot: dict[str, float]  # the visitor's emotions; empty when none were given


@dataclass(frozen=True)
class Reading:
    """What a visitor asks of an upload besides the file: emotions to score zero-shot (already parsed, at least
    two), and for a sequence whether its verdict pools every frame (`apex_frames` None) or that many frames
    around its apex, the frame whose views moved most from the first (the processor's "apex" sampling)."""

    zero_shot_emotions: tuple[str, ...] = ()
    apex_frames: int | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything the page shows for one upload."""

    source: str  # the uploaded file's name
    frames: list[FrameScores]  # one for a single mesh, one per frame (in name order) for a sequence
    overall: FrameScores  # the single mesh's scores, or the mean over the frames of a sequence
    shown_frame: int  # the frame in the viewer and gallery: for a sequence, where its emotion peaks
    shown_face: FaceMesh
    views: list[tuple[str, Image.Image]]  # (view name, rendered image) of the shown frame
    viewer_glb: bytes  # the shown frame as binary glTF, for the browser's 3D viewer
    temporal_pooling: str = "mean"  # how the model pools a sequence's frames ("mean", "attention", "transformer")
    view_fusion: str = "mean"  # how the model fuses the views: "mean" weighs them equally by design
    frame_weights: tuple[float, ...] = ()  # a sequence's: how much each frame counted in its verdict
    apex_frames: int | None = None  # a sequence's verdict from this many frames around its apex (None: every frame)

    @property
    def weighs_views(self) -> bool:
        """Whether the view weights say anything: only a learned fusion gives views different weights."""
        return self.view_fusion != "mean"

    @property
    def weighs_frames(self) -> bool:
        """Whether the frame weights say where the model looked: only a learned temporal pooling sets them."""
        return self.temporal_pooling != "mean" and bool(self.frame_weights)

    @property
    def is_sequence(self) -> bool:
        return self.source.lower().endswith(".zip")

    @property
    def label(self) -> str:
        return max(self.overall.emotions, key=self.overall.emotions.get)


def mesh_suffixes() -> list[str]:
    """The mesh formats readable now: read at call time, so readers registered after import count too."""
    return sorted(MESH_READERS)


def _frame_files(upload: Path, workdir: Path, limits: DemoLimits) -> list[tuple[str, Path]]:
    """(display name, path) of each mesh in the upload, after the checks that need no parsing."""
    name = upload.name
    size = upload.stat().st_size
    if size > limits.max_upload_bytes:
        raise InputError(f"{name}: {megabytes(size)}, over the upload limit of {megabytes(limits.max_upload_bytes)}")
    suffix = upload.suffix.lower()
    if suffix == ".zip":
        folder = workdir / "frames"
        frames = extract_frames(upload, folder, limits, mesh_suffixes())
        return [(f"{name}/{frame.relative_to(folder).as_posix()}", frame) for frame in frames]
    if suffix not in MESH_READERS:
        raise InputError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; upload a mesh "
            f"({' '.join(mesh_suffixes())}) or a .zip of mesh frames"
        )
    return [(name, upload)]


def _visitor_error(error: MeshFormatError, path: Path, name: str) -> InputError:
    """The error naming the file as the visitor knows it, never the server's folders."""
    problem = str(error).removeprefix(f"{path}: ").replace(f"{path.parent}{os.sep}", "")
    return InputError(f"{name}: {problem}")


def load_face(path: Path, name: str, limits: DemoLimits) -> FaceMesh:
    """The validated mesh, or an InputError naming the file as the visitor knows it (not the server path)."""
    try:
        return load_mesh(path, limits.mesh_limits)
    except MeshFormatError as error:
        raise _visitor_error(error, path, name) from None


def _render(processor, face: FaceMesh, path: Path, name: str) -> list[Image.Image]:
    """The model's views of one face; a mesh the processor refuses (not a face) is an InputError naming it."""
    try:
        return processor.render(face)
    except MeshFormatError as error:
        raise _visitor_error(error, path, name) from None


def _probabilities(names: Sequence[str], rows: torch.Tensor) -> list[dict[str, float]]:
    return [{name: float(value) for name, value in zip(names, row)} for row in rows.float().cpu()]


@dataclass(frozen=True)
class _Scorer:
    """The model's one scorer, against its own labels and (when given) the visitor's zero-shot emotions."""

    model: Any
    processor: Any
    zero_shot_emotions: tuple[str, ...] = ()

    @cached_property
    def zero_shot_classes(self) -> torch.Tensor | None:
        if not self.zero_shot_emotions:
            return None
        with torch.no_grad():
            return self.model.get_class_embeddings(**self.processor.zero_shot_inputs(list(self.zero_shot_emotions)))

    def _scores(self, names: list[str], embeds: torch.Tensor, view_weights: torch.Tensor) -> list[FrameScores]:
        """One FrameScores per row of face (or sequence) embeddings and view weights."""
        labels, view_names = self.model.config.emotion_labels, [view["name"] for view in self.processor.views]
        emotions = _probabilities(labels, self.model.class_logits(embeds).softmax(dim=-1))
        zero_shot = [{}] * len(embeds)
        if self.zero_shot_classes is not None:
            zero_shot = _probabilities(self.zero_shot_emotions,
                                       self.model.class_logits(embeds, self.zero_shot_classes).softmax(dim=-1))
        weights = _probabilities(view_names, view_weights)
        return [FrameScores(*row) for row in zip(names, emotions, weights, zero_shot)]

    @torch.no_grad()
    def faces(self, names: list[str], pixel_values: torch.Tensor) -> tuple[list[FrameScores], torch.Tensor, torch.Tensor]:
        """Scores of a batch of faces, with their face embeddings and view weights (for pooling a sequence)."""
        output = self.model(pixel_values=pixel_values.to(self.model.device))
        return self._scores(names, output.face_embeds, output.view_weights), output.face_embeds, output.view_weights

    @torch.no_grad()
    def sequence(self, name: str, frame_embeds: torch.Tensor, view_weights: torch.Tensor
                 ) -> tuple[FrameScores, tuple[float, ...]]:
        """The sequence's scores, its frame embeddings pooled over time by the model's temporal pooling, and
        the weight that pooling gave each frame."""
        sequence, frame_weights = self.model.pool_frames(frame_embeds.unsqueeze(0))
        weights = tuple(float(weight) for weight in frame_weights[0].float().cpu())
        return self._scores([name], sequence, frame_weights @ view_weights)[0], weights

    def verdict(self, name: str, frames: _ScoredFrames, apex_frames: int | None
                ) -> tuple[FrameScores, tuple[float, ...]]:
        """The sequence's scores from every frame or from `apex_frames` frames around its apex, and each
        frame's weight in them (0 for a frame left out)."""
        embeds, view_weights = torch.cat(frames.embeds), torch.cat(frames.view_weights)
        chosen = list(range(len(embeds)))
        if apex_frames:
            displacement = view_displacement(torch.cat(frames.pixels))
            chosen = sample_frame_indices(len(embeds), apex_frames, "apex", displacement)
        overall, weights = self.sequence(name, embeds[chosen], view_weights[chosen])
        every = [0.0] * len(embeds)
        for index, weight in zip(chosen, weights):  # a frame chosen twice (a short sequence) counts twice
            every[index] += weight
        return overall, tuple(every)


@dataclass
class _ScoredFrames:
    """Each batch's frame scores, embeddings, view weights and (for apex sampling) pixel values, in order."""

    scores: list[FrameScores] = dataclasses.field(default_factory=list)
    embeds: list[torch.Tensor] = dataclasses.field(default_factory=list)
    view_weights: list[torch.Tensor] = dataclasses.field(default_factory=list)
    pixels: list[torch.Tensor] = dataclasses.field(default_factory=list)


def analyse_upload(
    upload: Path,
    model,
    processor,
    workdir: Path,
    limits: DemoLimits = DemoLimits(),
    reading: Reading = Reading(),
) -> Analysis:
    """Score every face in `upload`; raise InputError (naming the file and the problem) for anything unusable.

    `reading.zero_shot_emotions` are scored as extra classes alongside the model's own.
    """
    files = _frame_files(upload, workdir, limits)
    scorer = _Scorer(model, processor, tuple(reading.zero_shot_emotions))
    scored = _score_frames(files, scorer, limits, keep_pixels=bool(reading.apex_frames))
    frames, frame_weights = scored.scores, ()
    if len(frames) == 1:
        overall = dataclasses.replace(frames[0], name=upload.name)
    else:
        overall, frame_weights = scorer.verdict(upload.name, scored, reading.apex_frames)
    top = max(overall.emotions, key=overall.emotions.get)
    shown = max(range(len(frames)), key=lambda index: frames[index].emotions[top])
    name, path = files[shown]
    face = load_face(path, name, limits)
    return Analysis(
        source=upload.name,
        frames=frames,
        overall=overall,
        shown_frame=shown,
        shown_face=face,
        views=display_views(face, processor),
        viewer_glb=glb_bytes(face),
        temporal_pooling=model.config.temporal_pooling,
        view_fusion=model.config.view_fusion,
        frame_weights=frame_weights,
        apex_frames=reading.apex_frames if len(frames) > 1 else None,
    )


def _score_frames(files: list[tuple[str, Path]], scorer: _Scorer, limits: DemoLimits,
                  keep_pixels: bool) -> _ScoredFrames:
    """Every frame loaded, rendered and scored, a few at a time: a long sequence never sits in memory as meshes
    (its pixel values are kept only when apex sampling needs them)."""
    scored = _ScoredFrames()
    for start in range(0, len(files), FRAMES_PER_BATCH):
        batch = files[start:start + FRAMES_PER_BATCH]
        views = [_render(scorer.processor, load_face(path, name, limits), path, name) for name, path in batch]
        pixels = scorer.processor(images=views)["pixel_values"]
        scores, embeds, view_weights = scorer.faces([name for name, _ in batch], pixels)
        scored.scores += scores
        scored.embeds.append(embeds)
        scored.view_weights.append(view_weights)
        if keep_pixels:
            scored.pixels.append(pixels)
    return scored
