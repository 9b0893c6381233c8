"""What the package ships (the default model, the example faces, the data files) and the one way a model
folder or Hub id is loaded for use: every entry point (CLI, Space, export, evaluation, tests) goes through here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ASSETS = Path(__file__).parent / "assets"
DEFAULT_MODEL = ASSETS / "default_model"
EXAMPLES = ASSETS / "examples"
EXAMPLE_FACE = ASSETS / "example_face.ply"
CLIP_BPE = ASSETS / "clip_bpe" / "bpe_simple_vocab_16e6.txt.gz"
ICT_FACE_MODEL = ASSETS / "ict_face_model" / "ict_face_only_9409.npz"


def load_pretrained(name_or_path: str | Path = DEFAULT_MODEL, device: Any = None,
                    trust_remote_code: bool = False) -> tuple[Any, Any]:
    """(model in eval mode, processor) from a folder or Hub id, with this package's classes (registered with the
    Auto classes when the package is imported, as it is for this module) unless `trust_remote_code` asks for the
    code that travels with the folder."""
    from transformers import AutoModel, AutoProcessor

    if Path(name_or_path) == DEFAULT_MODEL and not DEFAULT_MODEL.is_dir():
        raise FileNotFoundError(f"no default model is bundled at {DEFAULT_MODEL}; pass a model folder or Hub id")
    model = AutoModel.from_pretrained(name_or_path, trust_remote_code=trust_remote_code).eval()
    processor = AutoProcessor.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    return (model if device is None else model.to(device)), processor
