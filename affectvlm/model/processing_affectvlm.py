"""AffectVLMProcessor: meshes -> rendered views -> pixel_values; labels + metadata -> prompts -> input_ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import BatchFeature, ProcessorMixin

from .configuration_affectvlm import BASIC_EMOTIONS, DEFAULT_VIEWS, AffectVLMConfig
from .drawing_affectvlm import in_background
from .faceness_affectvlm import check_face as refuse_non_face
from .meshes_affectvlm import FaceMesh, MeshLimits, load_mesh
from .preprocessing_affectvlm import FaceAlignment, canonicalize_face
from .prompts_affectvlm import DEFAULT_CLASS_TEMPLATES, class_prompts, training_prompts
from .rendering_affectvlm import (
    DEFAULT_RENDER_BACKEND, ViewSpec, check_backend, check_render_mode, host_array, normalize_mesh, render_on_backend,
)
from .sequences_affectvlm import FRAME_SAMPLINGS

ViewImages = Sequence["Image.Image | np.ndarray"] | np.ndarray


def sample_frame_indices(count: int, num_frames: int | None, mode: str = "uniform",
                         displacement: Sequence[float] | None = None,
                         jitter: np.random.Generator | None = None) -> list[int]:
    """Which of `count` frames to keep: `num_frames` evenly spaced over the whole sequence ("uniform"), or over
    the half of it centred on the apex, the frame that moved most from the first ("apex"; needs the per-frame
    `displacement`, see `view_displacement`); one frame is the middle frame or the apex. Fewer frames than
    asked are repeated, so every sequence yields exactly `num_frames`. With `jitter` (training), each position
    moves by up to half the spacing, so every epoch sees other frames of the same sequence."""
    if mode not in FRAME_SAMPLINGS:
        raise ValueError(f"frame_sampling must be one of {FRAME_SAMPLINGS}, got {mode!r}")
    if count < 1:
        raise ValueError("a sequence needs at least one frame")
    if num_frames is None:
        return list(range(count))
    start, end, centre = 0, count - 1, (count - 1) // 2
    if mode == "apex":
        if displacement is None or len(displacement) != count:
            raise ValueError("apex sampling needs one displacement per frame")
        centre, half = int(np.argmax(displacement)), max(count // 4, 1)
        start, end = max(centre - half, 0), min(centre + half, count - 1)
    if num_frames == 1:
        return [centre]
    positions = np.linspace(start, end, num_frames)
    if jitter is not None and end - start + 1 > num_frames:
        spacing = (end - start) / (num_frames - 1)
        positions = np.clip(positions + (jitter.random(num_frames) - 0.5) * spacing, start, end)
    return [int(round(index)) for index in positions]


def view_displacement(clip: torch.Tensor) -> list[float]:
    """How far each frame of a (frames, views, 3, H, W) clip has moved from the first: the mean absolute
    difference of its views from the first frame's. The views are of the aligned face, so a head turn moves
    it little and an expression much: what "apex" sampling looks for (one measure for the processor and
    for training on cached views alike)."""
    return (clip - clip[:1]).abs().flatten(1).mean(dim=1).tolist()


def prepare_face(face: FaceMesh, alignment: FaceAlignment | None) -> FaceMesh:
    """A loaded mesh in the renderer's unit frame: the canonical face crop when the processor has a face
    alignment, else the mesh normalised by its own extent (older checkpoints)."""
    return normalize_mesh(face) if alignment is None else canonicalize_face(face, alignment)


@dataclass(frozen=True)
class RenderSettings:
    """Everything between a loaded mesh and its view images (the rendered cache fingerprints it)."""

    views: tuple[ViewSpec, ...]
    mode: str
    size: int
    alignment: FaceAlignment | None = None
    backend: str = DEFAULT_RENDER_BACKEND


def render_faces(faces: Sequence[FaceMesh], settings: RenderSettings, views: Sequence[Sequence[ViewSpec]] | None = None,
                 as_tensor: bool = False) -> np.ndarray | torch.Tensor:
    """The one way loaded meshes become view images (processor, rendered cache, on-the-fly training), all drawn
    in one backend call: (faces, views, H, W, 3) uint8. `views`: one list of cameras per face (jittered, in
    training) instead of the settings' views. `as_tensor`: a tensor where the backend drew it (see
    `render_on_backend`)."""
    prepared = [prepare_face(face, settings.alignment) for face in faces]
    return render_prepared_faces(prepared, settings, views, as_tensor)


def render_prepared_faces(prepared: Sequence[FaceMesh], settings: RenderSettings,
                          views: Sequence[Sequence[ViewSpec]] | None = None,
                          as_tensor: bool = False) -> np.ndarray | torch.Tensor:
    """`render_faces` after its face preparation: for faces prepared once (`prepare_face` with the settings'
    alignment) and drawn many times, as on-the-fly training draws each face every epoch."""
    cameras = list(settings.views) if views is None else [list(each) for each in views]
    images = render_on_backend(prepared, cameras, settings.mode, settings.size, settings.backend, normalized=True)
    return torch.as_tensor(images) if as_tensor else host_array(images)


def unit_pixels(images: "Sequence[Image.Image | np.ndarray] | torch.Tensor", size: int) -> torch.Tensor:
    """View images (RGB PIL, (H, W, 3) uint8 arrays, or a (V, H, W, 3) uint8 tensor, which stays on its device)
    -> (V, 3, size, size) float in [0, 1], resized (bicubic) only when they were rendered at another size: the
    unnormalised form augmentation works on."""
    if not isinstance(images, torch.Tensor):
        images = torch.from_numpy(np.stack([_rgb_array(image) for image in images]))
    views = images.permute(0, 3, 1, 2).float().div_(255.0)
    if views.shape[-2:] != (size, size):
        views = F.interpolate(views, size=(size, size), mode="bicubic", align_corners=False).clamp_(0, 1)
    return views


class AffectVLMProcessor(ProcessorMixin):
    r"""
    Renders each mesh into the configured views and turns them into pixel values with the image processor's
    size, mean and std (`unit_pixels` then `normalize_pixels`: the one pixel path, shared by inference, the
    rendered cache's training views and on-the-fly rendering); turns emotion
    labels (and optional metadata: age group, gender, ethnicity, intensity) into augmented prompts for the
    tokenizer. The render settings are saved in `processor_config.json`.

    Args:
        image_processor (`CLIPImageProcessorPil`): holds the pixel size, mean and std applied to every view.
        tokenizer (`CLIPTokenizer`): CLIP's BPE tokenizer.
        views (`list[dict]`): `{"name", "yaw", "pitch"}` per view, in degrees.
        render_mode (`str`): `"shaded"`, `"depth"`, `"normals"` or `"texture"`.
        render_size (`int`): rendered view size in pixels.
        render_backend (`str`): `"numba"` (default, compiled, no system libraries), `"cuda"` (the same pictures
            drawn on a GPU) or `"pyrender"` (the GL reference); a processor_config.json saved before this
            setting existed loads with the default.
        emotion_labels (`list[str]`): class names, in the model's logit order.
        class_prompt_templates (`list[str]`): the inference prompt ensemble.
        max_vertices, max_faces, max_file_bytes (`int`): input limits; larger meshes are refused.
        face_alignment (`dict`): the face template and crop (`FaceAlignment.to_dict()`); with it every mesh is
            registered to the template and cropped around the nose tip before rendering (see
            preprocessing_affectvlm.py). Without it (older checkpoints) a mesh is normalised by its extent.
        check_face (`bool`): refuse meshes that do not look like a face (`NotAFaceError`) before rendering;
            turn off for research on other surfaces.
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        views: list[dict] | None = None,
        render_mode: str = "shaded",
        render_size: int = 224,
        render_backend: str = DEFAULT_RENDER_BACKEND,
        emotion_labels: list[str] | None = None,
        class_prompt_templates: list[str] | None = None,
        max_vertices: int = MeshLimits.max_vertices,
        max_faces: int = MeshLimits.max_faces,
        max_file_bytes: int = MeshLimits.max_file_bytes,
        face_alignment: dict | None = None,
        check_face: bool = True,
        **kwargs,
    ):
        self.views = [dict(view) for view in (views or DEFAULT_VIEWS)]
        self.render_mode = check_render_mode(render_mode)
        self.render_size = int(render_size)
        self.render_backend = check_backend(render_backend)
        self.emotion_labels = list(emotion_labels or BASIC_EMOTIONS)
        self.class_prompt_templates = list(class_prompt_templates or DEFAULT_CLASS_TEMPLATES)
        self.max_vertices = int(max_vertices)
        self.max_faces = int(max_faces)
        self.max_file_bytes = int(max_file_bytes)
        self.face_alignment = face_alignment
        self._alignment = FaceAlignment.from_dict(face_alignment) if face_alignment else None
        self.check_face = bool(check_face)
        super().__init__(image_processor, tokenizer, **kwargs)

    @classmethod
    def from_config(
        cls, config: AffectVLMConfig, image_processor=None, tokenizer=None, face_alignment: dict | None = None
    ) -> "AffectVLMProcessor":
        """A processor whose views, render settings, labels and templates match a model config."""
        if image_processor is None:
            from transformers import CLIPImageProcessorPil

            size = config.image_size
            image_processor = CLIPImageProcessorPil(
                size={"shortest_edge": size}, crop_size={"height": size, "width": size}
            )
        return cls(
            image_processor=image_processor,
            tokenizer=tokenizer,
            views=config.views,
            render_mode=config.render_mode,
            render_size=config.image_size,
            emotion_labels=config.emotion_labels,
            class_prompt_templates=config.class_prompt_templates,
            face_alignment=face_alignment,
        )

    @property
    def alignment(self) -> FaceAlignment | None:
        return self._alignment

    @property
    def view_specs(self) -> list[ViewSpec]:
        return [ViewSpec(view["name"], float(view.get("yaw", 0.0)), float(view.get("pitch", 0.0))) for view in self.views]

    @property
    def mesh_limits(self) -> MeshLimits:
        return MeshLimits(self.max_vertices, self.max_faces, self.max_file_bytes)

    def load_face(self, mesh) -> FaceMesh:
        """The validated mesh, refused with `NotAFaceError` when it does not look like a face (unless
        `check_face` is off): the one gate every mesh passes before an emotion is named."""
        face = load_mesh(mesh, self.mesh_limits)
        if self.check_face:
            refuse_non_face(face)
        return face

    def render(self, mesh) -> list[Image.Image]:
        """The configured views of one mesh (path, FaceMesh, trimesh, arrays) as RGB images."""
        return [Image.fromarray(array) for array in self.render_batch([mesh])[0]]

    @property
    def render_settings(self) -> "RenderSettings":
        return RenderSettings(tuple(self.view_specs), self.render_mode, self.render_size, self._alignment,
                              self.render_backend)

    def render_batch(self, meshes: Sequence) -> np.ndarray:
        """The configured views of many meshes, drawn in one backend call: (meshes, views, H, W, 3) uint8.
        Each mesh passes the gate of `load_face`; its face check runs beside the alignment and rendering
        (they do not depend on it), and a refused mesh raises `NotAFaceError` before any view is returned."""
        return self._checked_render([load_mesh(mesh, self.mesh_limits) for mesh in meshes])

    def _checked_render(self, faces: list[FaceMesh]) -> np.ndarray:
        """Loaded meshes rendered, each passing `load_face`'s face check on the side (see `render_batch`)."""
        if not self.check_face:
            return render_faces(faces, self.render_settings)
        checks = in_background(lambda: [refuse_non_face(face) for face in faces])
        try:
            views = render_faces(faces, self.render_settings)
        finally:
            checks.result()  # a refusal is raised first, whatever rendering did with the non-face
        return views

    @property
    def pixel_size(self) -> int:
        """The side of the model's input views, in pixels."""
        crop = getattr(self.image_processor, "crop_size", None) or {}
        return int(crop.get("height", self.render_size))

    def normalize_pixels(self, views: torch.Tensor) -> torch.Tensor:
        """[0, 1] views (..., 3, H, W) -> model pixel values, on the views' device: the last step of every
        pixel path, applied after augmentation (which needs unnormalised pixels)."""
        mean = torch.as_tensor(self.image_processor.image_mean, dtype=views.dtype, device=views.device)
        std = torch.as_tensor(self.image_processor.image_std, dtype=views.dtype, device=views.device)
        return (views - mean.view(3, 1, 1)) / std.view(3, 1, 1)

    def pixel_values(self, images: Sequence[ViewImages]) -> torch.Tensor:
        """Rendered views, per face a list of view images in the configured order -> (faces, views, 3, H, W)."""
        views = len(self.views)
        for index, face_views in enumerate(images):
            if len(face_views) != views:
                raise ValueError(f"face {index} has {len(face_views)} view images, the processor expects {views}")
        if not len(images):
            return torch.empty(0, views, 3, self.pixel_size, self.pixel_size)
        return torch.stack([self.normalize_pixels(unit_pixels(face_views, self.pixel_size)) for face_views in images])

    def __call__(
        self,
        meshes=None,
        sequences=None,
        num_frames: int | None = None,
        frame_sampling: str = "uniform",
        images: Sequence[ViewImages] | None = None,
        text: str | list[str] | None = None,
        labels: Sequence[str | int] | None = None,
        metadata: Sequence[Mapping[str, object] | None] | None = None,
        augment_prompts: bool = True,
        prompt_seed: int | None = None,
        return_tensors: str = "pt",
        **kwargs,
    ) -> BatchFeature:
        r"""
        Any of the inputs may be left out: prompts alone serve a trainer whose views are already cached.

        meshes: one mesh or a list (paths, `FaceMesh`, `trimesh.Trimesh`, `(vertices, faces)`), rendered here.
        sequences: 4D faces instead: a list of sequences, each a list of frame meshes in time order; gives
            pixel_values of shape (batch, frames, views, 3, H, W). `num_frames` frames are kept per sequence
            (default: all, then every sequence must have as many), chosen by `frame_sampling`: "uniform" over
            the whole sequence or "apex" (around the frame whose views moved most from the first's).
        images: instead of meshes, already-rendered views: per face, a list of view images (or a (views, H, W, 3)
            uint8 array), in the configured view order.
        text: one prompt per face; when absent and `labels` are given, prompts are built from the labels (and
            `metadata`), augmented unless `augment_prompts=False`, deterministic under `prompt_seed`.
        labels: one emotion per face, as a name or an index into `emotion_labels`; returned as `labels`.
        """
        if sum(value is not None for value in (meshes, sequences, images)) > 1:
            raise ValueError("pass one of `meshes`, `sequences` (to render) or `images` (already rendered)")
        if meshes is None and sequences is None and images is None and text is None and labels is None:
            raise ValueError("nothing to process: pass meshes, sequences, images, text or labels")
        data = {}
        pixels = self._pixels_of(meshes, sequences, images, num_frames, frame_sampling)
        if pixels is not None:
            data["pixel_values"] = pixels
        count = len(pixels) if pixels is not None else len(labels if labels is not None else _as_list(text))
        if labels is not None:
            if len(labels) != count:
                raise ValueError(f"got {count} faces but {len(labels)} labels")
            data["labels"] = torch.tensor([self._label_index(label) for label in labels], dtype=torch.long)
            if text is None:
                names = [self.emotion_labels[index] for index in data["labels"].tolist()]
                text = training_prompts(names, metadata, augment=augment_prompts, seed=prompt_seed,
                                        templates=self.class_prompt_templates)
        if text is not None:
            text = _as_list(text)
            if len(text) != count:
                raise ValueError(f"got {count} faces but {len(text)} prompts")
            data.update(self._tokenize(text))
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _pixels_of(self, meshes, sequences, images, num_frames: int | None, frame_sampling: str) -> torch.Tensor | None:
        """Pixel values of whichever input was given (meshes rendered here, sequences, or rendered views)."""
        if meshes is not None:
            if not isinstance(meshes, (list, tuple)) or _is_vertices_faces_pair(meshes):
                meshes = [meshes]
            images = list(self.render_batch(meshes))
        if images is not None:
            return self.pixel_values(images)
        if sequences is None:
            return None
        clips = [self.sequence_pixels(frames, num_frames, frame_sampling)[0] for frames in sequences]
        if len({clip.shape[0] for clip in clips}) > 1:
            raise ValueError(f"sequences have {[clip.shape[0] for clip in clips]} frames: pass num_frames")
        return torch.stack(clips)

    def sequence_pixels(self, frames: Sequence, num_frames: int | None = None, frame_sampling: str = "uniform"
                        ) -> tuple[torch.Tensor, list[int]]:
        """(frames, views, 3, H, W) pixel values of one sequence's chosen frames (see `__call__`), and which
        frames of the sequence they are. Uniform sampling reads only the frames it keeps; apex sampling reads
        and renders every frame to find the apex."""
        if frame_sampling != "apex":
            chosen = sample_frame_indices(len(frames), num_frames, frame_sampling)
            faces = [load_mesh(frames[index], self.mesh_limits) for index in chosen]
            return self.pixel_values(list(self._checked_render(faces))), chosen
        faces = [load_mesh(frame, self.mesh_limits) for frame in frames]
        clip = self.pixel_values(list(self._checked_render(faces)))
        chosen = sample_frame_indices(len(faces), num_frames, "apex", view_displacement(clip))
        return clip[chosen], chosen

    def class_prompt_inputs(
        self, labels: Sequence[str] | None = None, templates: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Tokenised labels x templates prompts, padded to the text length, for `model.set_class_prompts`."""
        prompts = class_prompts(labels or self.emotion_labels, templates or self.class_prompt_templates)
        return self._tokenize(prompts, pad_to_max=True)

    def zero_shot_inputs(self, classes: Mapping[str, Sequence[str]] | Sequence[str]) -> dict:
        """Other classes for `model.get_class_embeddings(**inputs)` or `model(..., **inputs)`: a list of labels is
        expanded with the processor's templates (as the model's own labels are); a mapping gives each label its
        own prompts. Each class is scored by the mean embedding of its prompts."""
        if isinstance(classes, Mapping):
            texts, counts = [p for prompts in classes.values() for p in prompts], [len(p) for p in classes.values()]
        else:
            texts, counts = class_prompts(list(classes), self.class_prompt_templates), len(self.class_prompt_templates)
        tokens = self._tokenize(texts)
        return {"class_input_ids": tokens["input_ids"], "class_attention_mask": tokens["attention_mask"],
                "prompts_per_class": counts}

    def _tokenize(self, text: list[str], pad_to_max: bool = False) -> dict[str, torch.Tensor]:
        if self.tokenizer is None:
            raise ValueError("this processor has no tokenizer; it can prepare views but not prompts")
        padding = "max_length" if pad_to_max else "longest"
        tokens = self.tokenizer(text, padding=padding, truncation=True, return_tensors="pt")
        return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}

    def _label_index(self, label: str | int) -> int:
        if isinstance(label, (int, np.integer)) and 0 <= int(label) < len(self.emotion_labels):
            return int(label)
        if isinstance(label, str) and label in self.emotion_labels:
            return self.emotion_labels.index(label)
        raise ValueError(f"unknown label {label!r}; labels are {self.emotion_labels}")

    @property
    def model_input_names(self) -> list[str]:
        return ["pixel_values", "input_ids", "attention_mask"]


def _as_list(text: str | Sequence[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


def _is_vertices_faces_pair(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(isinstance(item, np.ndarray) for item in value)


def _rgb_array(view) -> np.ndarray:
    """A view as (H, W, 3) uint8: rendered arrays pass as they are, PIL images are converted."""
    if isinstance(view, Image.Image):
        return np.asarray(view.convert("RGB"))
    array = np.asarray(view)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"a view image must be an RGB PIL image or a (H, W, 3) uint8 array, got {array.dtype} {array.shape}")
    return array


__all__ = ["FRAME_SAMPLINGS", "AffectVLMProcessor", "RenderSettings", "prepare_face", "render_faces", "render_prepared_faces", "sample_frame_indices", "unit_pixels"]
