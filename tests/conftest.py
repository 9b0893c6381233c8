"""Shared fixtures: tiny random AffectVLM models from configs, the bundled example face. Offline, CPU only."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

import affectvlm  # noqa: E402

EXAMPLE_FACE = Path(affectvlm.__file__).parent / "assets" / "example_face.ply"
TINY_IMAGE = 32


def tiny_config(**overrides) -> affectvlm.AffectVLMConfig:
    """A 2-layer, 32-wide model: builds in milliseconds, still the real architecture and vocabulary."""
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    settings = {
        "vision_config": {**tower, "image_size": TINY_IMAGE, "patch_size": 8},
        "text_config": {**tower, "max_position_embeddings": 77},
        "projection_dim": 32,
    }
    settings.update(overrides)
    return affectvlm.AffectVLMConfig(**settings)


def tiny_model_and_processor(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    config = tiny_config(**overrides)
    processor = affectvlm.build_processor(config)
    model = affectvlm.AffectVLMModel(config)
    model.set_class_prompts(**processor.class_prompt_inputs())
    return model.eval(), processor


@pytest.fixture(scope="session")
def example_face() -> Path:
    return EXAMPLE_FACE


@pytest.fixture
def tiny():
    return tiny_model_and_processor()
