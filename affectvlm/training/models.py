"""Where a training run's model comes from: a size preset, a saved AffectVLM checkpoint, or a CLIP folder."""

from __future__ import annotations

from typing import Any

import affectvlm

from ..model.configuration_affectvlm import BASIC_EMOTIONS
from ..model.configuration_affectvlm import DEFAULT_VIEWS
from ..model.losses_affectvlm import LOSS_TERMS
from .config import TrainConfig

_TINY_TOWER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
_SMALL_TOWER = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
_SMALL_TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
_CONV_TOWER = {"model_type": "resnet", "layer_type": "basic", "num_channels": 3, "embedding_size": 32,
               "hidden_sizes": [32, 64, 128, 256], "depths": [1, 1, 1, 1]}
_TINY_CONV_TOWER = {**_CONV_TOWER, "embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1]}
_FACE_CENTRIC = {"face_preprocessing": True, "render_mode": "normals"}

# Presets from random weights. "tiny" and "conv-tiny" are for tests; "small" trains on a 2-core CPU in minutes;
# "base" has the shapes of CLIP ViT-B/32 (start it from real CLIP weights with `clip` instead where you can).
# "conv" is a 1.2M-parameter ResNet tower on face-centric normal maps, which learns from a few thousand faces
# where the ViTs do not (the default model).
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"vision_config": {**_TINY_TOWER, "image_size": 32, "patch_size": 8},
             "text_config": _TINY_TOWER, "projection_dim": 32},
    "small": {"vision_config": {**_SMALL_TOWER, "image_size": 64, "patch_size": 8},
              "text_config": _SMALL_TEXT, "projection_dim": 64},
    "base": {"vision_config": {"image_size": 224, "patch_size": 32}, "text_config": {}, "projection_dim": 512},
    "conv": {"vision_config": _CONV_TOWER, "text_config": _SMALL_TEXT, "projection_dim": 128, "image_size": 64,
             **_FACE_CENTRIC},
    "conv-tiny": {"vision_config": _TINY_CONV_TOWER, "text_config": _TINY_TOWER, "projection_dim": 32,
                  "image_size": 32, **_FACE_CENTRIC},
}


def view_subset(num_views: int) -> list[dict]:
    """The first `num_views` default views (1: frontal only; 3: frontal, left, right)."""
    if not 1 <= num_views <= len(DEFAULT_VIEWS):
        raise ValueError(f"num_views must be 1..{len(DEFAULT_VIEWS)}, got {num_views}")
    return [dict(view) for view in DEFAULT_VIEWS[:num_views]]


def _with_overrides(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A preset's config with overrides; an image size also resizes a tower that has one (the ViTs)."""
    settings = {**MODEL_PRESETS[preset], **{key: value for key, value in overrides.items() if value is not None}}
    vision = dict(settings["vision_config"])
    if "image_size" in overrides and overrides["image_size"] and vision.get("model_type", "clip_vision_model") \
            == "clip_vision_model":
        vision["image_size"] = overrides["image_size"]
    return {**settings, "vision_config": vision}


def build_model(
    preset: str | None = None,
    checkpoint: str | None = None,
    clip: str | None = None,
    **config_overrides: Any,
):
    """(model, processor) from exactly one source; config overrides (labels, views, loss weights...) apply
    to presets and CLIP starts, and to a checkpoint only where they do not change its weights' shapes."""
    sources = [name for name, value in (("preset", preset), ("checkpoint", checkpoint), ("clip", clip)) if value]
    if len(sources) != 1:
        raise ValueError(f"give exactly one of preset, checkpoint or clip (got {sources or 'none'})")
    if preset:
        if preset not in MODEL_PRESETS:
            raise ValueError(f"unknown model preset {preset!r}; presets: {sorted(MODEL_PRESETS)}")
        model = affectvlm.AffectVLMModel(affectvlm.AffectVLMConfig(**_with_overrides(preset, config_overrides)))
        processor = affectvlm.build_processor(model.config)
        model.set_class_prompts(**processor.class_prompt_inputs())
    elif clip:
        model = affectvlm.AffectVLMModel.from_clip(clip, **config_overrides)
        processor = affectvlm.build_processor(model.config)
    else:
        model = affectvlm.AffectVLMModel.from_pretrained(checkpoint, **config_overrides)
        processor = affectvlm.build_processor(model.config)
        if config_overrides.get("emotion_labels"):
            model.set_class_prompts(**processor.class_prompt_inputs())
    return model, processor


def model_for(config: TrainConfig):
    """(model, processor) as a training config asks for them."""
    return build_model(config.model_preset, config.checkpoint, config.clip, **model_overrides(config))


def model_overrides(config: TrainConfig) -> dict[str, Any]:
    renders = {"render_mode": config.render_mode, "image_size": config.image_size}
    return {
        **{key: value for key, value in renders.items() if value is not None},
        "views": view_subset(config.num_views),
        "view_fusion": config.view_fusion,
        "temporal_pooling": config.temporal_pooling,
        "emotion_labels": list(config.labels or BASIC_EMOTIONS),
        "loss_weights": every_loss_weight(config),
        "class_scorer": "prompts" if text_tower_is_trained(config) else "centroids",
    }


def every_loss_weight(config: TrainConfig) -> dict[str, float]:
    """The weight of every loss term, 0 for those the config leaves out."""
    return {term: float(config.loss_weights.get(term, 0.0)) for term in LOSS_TERMS}


def text_tower_is_trained(config: TrainConfig) -> bool:
    """Without InfoNCE or cross-entropy nothing aligns the prompts with faces: score by class centroids."""
    return config.loss_weights.get("infonce", 0) > 0 or config.loss_weights.get("cross_entropy", 0) > 0
