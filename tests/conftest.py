"""Shared fixtures: tiny random AffectVLM models from configs, the bundled example face. Offline, CPU only."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import socket  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

import affectvlm  # noqa: E402

from affectvlm.bundled import DEFAULT_MODEL, EXAMPLE_FACE, load_pretrained  # noqa: E402

SPACE = Path(__file__).parents[1] / "space"
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
def captured_bu4dfe(tmp_path_factory) -> Path:
    """Captured-style sequences (random timing, blinks, talking, head turns) in BU-4DFE's layout: 4 subjects x
    anger and surprise, up to 8 frames each."""
    from affectvlm.synthetic import CAPTURED_DYNAMICS, DatasetRequest, SyntheticRequest, write_synthetic_dataset

    root = tmp_path_factory.mktemp("captured") / "bu4dfe"
    write_synthetic_dataset(DatasetRequest(root, "bu4dfe", 4, SyntheticRequest(
        emotions=("anger", "surprise"), frames=8, texture_size=16, dynamics=CAPTURED_DYNAMICS)))
    return root


@pytest.fixture(scope="session")
def example_face() -> Path:
    return EXAMPLE_FACE


@pytest.fixture
def tiny():
    return tiny_model_and_processor()


def bundled_model_label(mesh: Path) -> str:
    """The bundled model's top emotion for a mesh, straight from model + processor (no UI code involved)."""
    model, processor = load_pretrained(DEFAULT_MODEL)
    with torch.no_grad():
        logits = model(pixel_values=processor(meshes=str(mesh))["pixel_values"]).logits
    return model.config.id2label[int(logits.argmax())]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_space_app():
    """space/app.py as a module (a script folder, not a package); importing it loads no model."""
    spec = importlib.util.spec_from_file_location("affectvlm_space_app", SPACE / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def serving_space(gradio_cache: Path) -> Iterator[str]:
    """space/app.py served on a free localhost port with its Gradio cache in `gradio_cache`; yields the URL."""
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_cache)
    app = load_space_app()
    demo = app.create_demo()
    port = free_port()
    app.launch_demo(demo, app.LIMITS, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous
