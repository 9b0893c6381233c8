"""What a model folder says about itself: labels, views, image size, towers and parameter count.

Read from config.json and the safetensors headers, without building the model, so that a card can be
written for any folder quickly and exactly as it will be published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors import safe_open

FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}


@dataclass(frozen=True)
class ModelFacts:
    labels: list[str]
    views: list[dict]
    image_size: int
    render_mode: str
    view_fusion: str
    temporal_pooling: str  # how a 4D sequence's frames become one embedding: mean, attention or transformer
    projection_dim: int
    vision_tower: str  # e.g. "CLIP ViT, 2 layers, width 64, patch 8" or "ResNet (basic blocks), stages 32-64-128-256"
    face_preprocessing: bool
    text_layers: int
    text_width: int
    prompt_templates: list[str]
    loss_weights: dict[str, float]
    num_parameters: int


def describe_vision_tower(vision: dict) -> str:
    """One line about the shared vision tower, whichever kind the config names."""
    if vision.get("model_type", "clip_vision_model") == "clip_vision_model":
        return (f"CLIP ViT, {vision['num_hidden_layers']} layers, width {vision['hidden_size']}, "
                f"patch {vision['patch_size']}")
    stages = "-".join(str(size) for size in vision["hidden_sizes"])
    return f"{vision['model_type']} (convolutional), stages {stages}, depths {vision['depths']}"


def read_model_facts(model_dir: str | Path) -> ModelFacts:
    """The facts of the AffectVLM model saved in `model_dir` (config.json + *.safetensors)."""
    model_dir = Path(model_dir)
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{model_dir} has no config.json: is it a saved AffectVLM model folder?")
    config = json.loads(config_path.read_text())
    if config.get("model_type") != "affectvlm":
        raise ValueError(f"{config_path}: model_type is {config.get('model_type')!r}, expected 'affectvlm'")
    vision, text = config["vision_config"], config["text_config"]
    return ModelFacts(
        labels=list(config["emotion_labels"]),
        views=[dict(view) for view in config["views"]],
        image_size=int(config["image_size"]),
        render_mode=config["render_mode"],
        view_fusion=config["view_fusion"],
        temporal_pooling=config.get("temporal_pooling", "mean"),
        projection_dim=int(config["projection_dim"]),
        vision_tower=describe_vision_tower(vision),
        face_preprocessing=bool(config.get("face_preprocessing", False)),
        text_layers=int(text["num_hidden_layers"]),
        text_width=int(text["hidden_size"]),
        prompt_templates=list(config["class_prompt_templates"]),
        loss_weights=dict(config["loss_weights"]),
        num_parameters=count_parameters(model_dir),
    )


def count_parameters(model_dir: str | Path) -> int:
    """Floating-point values in the folder's safetensors files (the stored class-prompt token ids excluded)."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{model_dir} has no .safetensors weights")
    total = 0
    for file in files:
        with safe_open(file, framework="pt") as weights:
            for name in weights.keys():
                tensor = weights.get_slice(name)
                if tensor.get_dtype() in FLOAT_DTYPES:
                    numel = 1
                    for size in tensor.get_shape():
                        numel *= size
                    total += numel
    return total


def format_count(count: int) -> str:
    """1_712_345 -> "1.7 M": how model sizes are usually read."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return str(count)
