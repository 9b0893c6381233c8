"""AffectVLMPipeline: a face mesh (or a 4D sequence of them) in, emotions out, the transformers way.

    pipe = pipeline(model="me/affectvlm", trust_remote_code=True)    # an exported checkpoint, no package
    pipe("face.obj")                    # [{"label": "happiness", "score": 0.91}, ...], best first
    pipe(["a.ply", "b.ply"], batch_size=2)                  # one list per input
    pipe("sequence.zip", num_frames=8)  # a folder or .zip of frames: each label also has its "frame_scores"
    pipe("face.obj", candidate_labels=["bored", "proud", "calm"])    # zero-shot, any emotions

An input is a mesh path, a `trimesh.Trimesh`, a `(vertices, faces)` pair, a mapping with "vertices" and
"faces", or a sequence: a folder or .zip of frame files, or a list of frames (inside the batch list, since a
top-level list is a batch: `pipe([["f0.ply", "f1.ply", "f2.ply"]])`). Scores come from the model's own scorer;
bad input raises MeshFormatError naming the file.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import Pipeline

from .meshes_affectvlm import MeshFormatError
from .sequences_affectvlm import folder_frames, is_sequence_path, unpack_frames

PIPELINE_TASK = "3d-facial-expression-recognition"


def _is_number_table(value) -> bool:
    """An (n, k) array, tensor or nested list of numbers: vertices or faces."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return len(value.shape) == 2
    return (isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], (list, tuple))
            and all(isinstance(number, numbers.Number) for number in value[0]))


def is_vertices_and_faces(value) -> bool:
    """Whether a pair is one mesh's (vertices, faces), not a sequence of two frames."""
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number_table(item) for item in value)


def _is_frame_list(value) -> bool:
    return isinstance(value, (list, tuple)) and not is_vertices_and_faces(value)


def candidate_label_list(candidate_labels: str | Sequence[str]) -> list[str]:
    """Zero-shot emotions as a list: "a, b" or ["a", "b"]; trimmed, at least two, no repeats."""
    if isinstance(candidate_labels, str):
        candidate_labels = candidate_labels.split(",")
    labels = [str(label).strip() for label in candidate_labels]
    if any(not label for label in labels):
        raise ValueError(f"candidate_labels has an empty label: {list(candidate_labels)!r}")
    if len({label.casefold() for label in labels}) != len(labels):
        raise ValueError(f"candidate_labels repeats a label: {labels!r}")
    if len(labels) < 2:
        raise ValueError(f"candidate_labels needs at least two labels (a softmax over one is always 1), got {labels!r}")
    return labels


class AffectVLMPipeline(Pipeline):
    """Scores face meshes and 4D sequences with an AffectVLM model; see the module docstring for the inputs.

    Options (at construction or per call): `top_k` (default: every label), `candidate_labels` (zero-shot:
    emotions of your own, embedded with the model's prompt templates), `num_frames` and `frame_sampling`
    ("uniform" or "apex") for sequences. `batch_size` renders and scores that many inputs per model call; the
    inputs of one batch must have the same shape (all single meshes, or sequences with one `num_frames`).
    """

    _load_processor = True
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def _sanitize_parameters(self, top_k=None, candidate_labels=None, num_frames=None, frame_sampling=None):
        preprocess, forward, postprocess = {}, {}, {}
        if num_frames is not None:
            if int(num_frames) < 1:
                raise ValueError(f"num_frames must be at least 1, got {num_frames}")
            preprocess["num_frames"] = int(num_frames)
        if frame_sampling is not None:
            preprocess["frame_sampling"] = frame_sampling
        if candidate_labels is not None:
            forward["candidate_labels"] = postprocess["candidate_labels"] = candidate_label_list(candidate_labels)
        if top_k is not None:
            if int(top_k) < 1:
                raise ValueError(f"top_k must be at least 1, got {top_k}")
            postprocess["top_k"] = int(top_k)
        return preprocess, forward, postprocess

    def preprocess(self, inputs, num_frames: int | None = None, frame_sampling: str = "uniform") -> dict:
        if isinstance(inputs, (str, os.PathLike)) and is_sequence_path(inputs):
            pixel_values = self._sequence_pixels(Path(inputs), num_frames, frame_sampling)
        elif _is_frame_list(inputs):
            pixel_values = self._render_sequence(list(inputs), num_frames, frame_sampling)
        else:
            pixel_values = self.processor(meshes=[inputs])["pixel_values"]
        return {"pixel_values": pixel_values}

    def _sequence_pixels(self, path: Path, num_frames: int | None, frame_sampling: str) -> torch.Tensor:
        """A folder or .zip of frames -> (1, frames, views, 3, H, W); a zip is unpacked only for the while."""
        if path.is_dir():
            return self._render_sequence(folder_frames(path), num_frames, frame_sampling)
        with tempfile.TemporaryDirectory(prefix="affectvlm-frames-") as folder:
            frames = unpack_frames(path, Path(folder), self.processor.mesh_limits)
            try:
                return self._render_sequence(frames, num_frames, frame_sampling)
            except MeshFormatError as error:  # name the frame inside the archive, not the temporary folder
                raise MeshFormatError(str(error).replace(f"{folder}{os.sep}", f"{path}/")) from None

    def _render_sequence(self, frames: list, num_frames: int | None, frame_sampling: str) -> torch.Tensor:
        return self.processor(sequences=[frames], num_frames=num_frames, frame_sampling=frame_sampling)["pixel_values"]

    def _forward(self, model_inputs: dict, candidate_labels: list[str] | None = None) -> dict:
        logits, frame_logits = self._classify(model_inputs["pixel_values"], candidate_labels)
        return {"logits": logits, "frame_logits": frame_logits}

    def _classify(self, pixel_values: torch.Tensor, candidate_labels: list[str] | None):
        """(logits, frame_logits or None): the model's one scorer, on its stored class prompts or on
        `candidate_labels` filled into its prompt templates (each label the mean of its templates' embeddings,
        as the model pools its own stored prompt ensemble)."""
        classes = {} if candidate_labels is None else self.processor.zero_shot_inputs(candidate_labels)
        output = self.model(pixel_values=pixel_values, **classes)
        return output.logits, output.frame_logits

    def postprocess(self, model_outputs: dict, top_k: int | None = None,
                    candidate_labels: list[str] | None = None) -> list[dict]:
        labels = candidate_labels or list(self.model.config.emotion_labels)
        scores = model_outputs["logits"][0].float().softmax(dim=-1)
        ranked = scores.argsort(descending=True)[: top_k or len(labels)].tolist()
        results = [{"label": labels[index], "score": float(scores[index])} for index in ranked]
        frame_logits = model_outputs["frame_logits"]
        if frame_logits is not None:
            frame_scores = frame_logits[0].float().softmax(dim=-1)
            for result, index in zip(results, ranked):
                result["frame_scores"] = [float(score) for score in frame_scores[:, index]]
        return results


__all__ = ["PIPELINE_TASK", "AffectVLMPipeline", "candidate_label_list", "is_vertices_and_faces"]
