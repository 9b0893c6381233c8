"""Where a training run's model comes from: a size preset, a saved AffectVLM checkpoint, or a CLIP folder."""

from __future__ import annotations

from typing import Any

import affectvlm

from ..model.configuration_affectvlm import DEFAULT_VIEWS

_TINY_TOWER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
_SMALL_TOWER = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
_SMALL_TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}

# Presets from random weights. "tiny" is for tests; "small" trains on a 2-core CPU in minutes; "base" has the
# shapes of CLIP ViT-B/32 (start it from real CLIP weights with `clip` instead where you can).
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"vision_config": {**_TINY_TOWER, "image_size": 32, "patch_size": 8},
             "text_config": _TINY_TOWER, "projection_dim": 32},
    "small": {"vision_config": {**_SMALL_TOWER, "image_size": 64, "patch_size": 8},
              "text_config": _SMALL_TEXT, "projection_dim": 64},
    "base": {"vision_config": {"image_size": 224, "patch_size": 32}, "text_config": {}, "projection_dim": 512},
}


def view_subset(num_views: int) -> list[dict]:
    """The first `num_views` default views (1: frontal only; 3: frontal, left, right)."""
    if not 1 <= num_views <= len(DEFAULT_VIEWS):
        raise ValueError(f"num_views must be 1..{len(DEFAULT_VIEWS)}, got {num_views}")
    return [dict(view) for view in DEFAULT_VIEWS[:num_views]]


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
        model = affectvlm.AffectVLMModel(affectvlm.AffectVLMConfig(**MODEL_PRESETS[preset], **config_overrides))
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
