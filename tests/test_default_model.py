"""The bundled default model: no copy of the package's code beside it, and it recognises its example face."""

import torch

from affectvlm.bundled import ASSETS, DEFAULT_MODEL, load_pretrained
from affectvlm.evaluation.heldout import face_mask
from affectvlm.model.meshes_affectvlm import load_mesh

FOLDER = DEFAULT_MODEL


def test_no_code_is_committed_beside_the_bundled_weights():
    """The package's classes load it; the export writes the remote code where the model leaves the package."""
    assert {"config.json", "model.safetensors", "processor_config.json"} <= {p.name for p in FOLDER.iterdir()}
    assert not list(ASSETS.rglob("*.py"))  # data only: no code copies, no package markers


def test_bundled_model_recognises_the_example_face(example_face):
    model, processor = load_pretrained(FOLDER)
    with torch.no_grad():
        probabilities = model(**processor(meshes=str(example_face))).logits.softmax(-1)[0]
    assert model.config.id2label[int(probabilities.argmax())] == "happiness"
    assert float(probabilities.max()) > 0.5


def test_every_bundled_example_gets_its_label_as_a_full_head_and_as_a_face_mask():
    model, processor = load_pretrained(FOLDER)
    examples = sorted((FOLDER.parent / "examples").glob("*.ply"))
    assert {path.stem for path in examples} == set(model.config.emotion_labels)
    heads = [load_mesh(path) for path in examples]
    masks = [face_mask(head) for head in heads]
    assert all(len(mask.vertices) < 0.8 * len(head.vertices) for head, mask in zip(heads, masks))
    with torch.no_grad():
        logits = model(**processor(meshes=heads + masks)).logits
    predicted = [model.config.id2label[int(index)] for index in logits.argmax(-1)]
    expected = [path.stem for path in examples]
    assert predicted == expected + expected


def test_every_bundled_example_gets_its_label_whichever_backend_renders_it():
    """The model was trained on the default backend's pictures; the pyrender reference's give the same labels."""
    model, processor = load_pretrained(FOLDER)
    examples = sorted((FOLDER.parent / "examples").glob("*.ply"))
    predicted = {}
    for backend in ("numba", "pyrender"):
        processor.render_backend = backend
        with torch.no_grad():
            logits = model(**processor(meshes=[str(path) for path in examples])).logits
        predicted[backend] = [model.config.id2label[int(index)] for index in logits.argmax(-1)]
    assert predicted["numba"] == predicted["pyrender"] == [path.stem for path in examples]
