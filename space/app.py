"""Hugging Face Space: the AffectVLM demo. `python app.py` serves it; importing this file loads nothing.

The model is the AFFECTVLM_MODEL environment variable (folder or Hub id) if set, otherwise the first entry of
`models:` in this Space's README.md header, otherwise the default model bundled with the affectvlm package.
"""

from __future__ import annotations

try:  # ZeroGPU: `spaces` must come before torch touches CUDA. On other hardware it is absent or does nothing.
    import spaces  # noqa: F401
except ImportError:
    pass

import os
from pathlib import Path

import gradio as gr
from huggingface_hub.repocard import metadata_load

from affectvlm.bundled import DEFAULT_MODEL, load_pretrained
from affectvlm.ui import DemoLimits, build_demo, launch_demo
from affectvlm.ui.hardware import model_device

SPACE_CARD = Path(__file__).with_name("README.md")
BUNDLED_MODEL = DEFAULT_MODEL
LIMITS = DemoLimits()


def model_name_or_path(card: Path = SPACE_CARD) -> str:
    """Which model this Space serves (see the module docstring for the order)."""
    if os.environ.get("AFFECTVLM_MODEL"):
        return os.environ["AFFECTVLM_MODEL"]
    header = (metadata_load(card) if card.is_file() else None) or {}
    return (header.get("models") or [str(BUNDLED_MODEL)])[0]


def create_demo(name_or_path: str | None = None, limits: DemoLimits = LIMITS) -> gr.Blocks:
    """Load the model once, on the GPU if the Space has one, and build the page around it."""
    name_or_path = name_or_path or model_name_or_path()
    model, processor = load_pretrained(name_or_path, model_device())
    return build_demo(model, processor, limits)


if __name__ == "__main__":
    launch_demo(create_demo(), LIMITS)
