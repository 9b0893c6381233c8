"""The bundled default model: its remote code is the package's code, and it recognises its example face."""

from pathlib import Path

import torch
from transformers import AutoModel, AutoProcessor

import affectvlm

FOLDER = Path(affectvlm.__file__).parent / "assets" / "default_model"


def test_bundled_remote_code_matches_the_package_sources():
    sources = sorted((Path(affectvlm.__file__).parent / "model").glob("*_affectvlm.py"))
    assert sources
    for source in sources:
        copy = FOLDER / source.name
        assert copy.read_text() == source.read_text(), (
            f"{copy} is stale: copy {source} over it (or retrain: hub_card/default_model/README.md)")


def test_bundled_model_recognises_the_example_face(example_face):
    model = AutoModel.from_pretrained(FOLDER).eval()
    processor = AutoProcessor.from_pretrained(FOLDER)
    with torch.no_grad():
        probabilities = model(**processor(meshes=str(example_face))).logits.softmax(-1)[0]
    assert model.config.id2label[int(probabilities.argmax())] == "happiness"
    assert float(probabilities.max()) > 0.5
