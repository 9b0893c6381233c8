"""The "is this a face?" check: never a face refused (every kind of synthetic face, every written format, the
bundled examples), every primitive refused, with a message naming the file; the processor runs it unless told not
to. The face and non-face makers are the ones scripts/faceness_rates.py measures the full rates with."""

import importlib.util
import itertools
from pathlib import Path

import pytest

from affectvlm.model.faceness_affectvlm import NotAFaceError, check_face, face_shape_problem, measure_face_shape
from affectvlm.model.meshes_affectvlm import MeshFormatError, load_mesh

SCRIPT = Path(__file__).parents[1] / "scripts" / "faceness_rates.py"


def _rates_module():
    spec = importlib.util.spec_from_file_location("faceness_rates", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rates = _rates_module()


def _refused(meshes) -> list[str]:
    return [f"{mesh.source}: {problem}" for mesh in meshes
            if (problem := face_shape_problem(measure_face_shape(load_mesh(mesh)))) is not None]


def test_no_synthetic_face_is_refused_whatever_its_crop_holes_pose_or_units():
    assert _refused(rates.synthetic_faces(24)) == []


@pytest.mark.skipif(not rates.FULL_HEAD.is_file(), reason="the full ICT head model is not in ../shared/data")
def test_no_full_head_or_face_mask_is_refused():
    assert _refused(itertools.islice(rates.ict_heads(2), 6)) == []


def test_no_bundled_example_face_is_refused():
    assert _refused(rates.bundled_faces()) == []


def test_no_face_read_back_from_the_dataset_writers_is_refused(tmp_path):
    faces = list(rates.dataset_faces(tmp_path, subjects=1))
    assert {Path(face.source).suffix for face in faces} == {".wrl", ".bnt", ".obj", ".ply"}
    assert _refused(faces) == []


def test_every_non_face_is_refused_with_a_reason():
    shapes = list(rates.non_faces())
    refused = _refused(shapes)
    assert len(refused) == len(shapes), sorted(set(s.source for s in shapes) - {r.split(":")[0] for r in refused})
    reasons = dict(entry.split(": ", 1) for entry in refused)
    assert "triangle" in reasons["single triangle"] and "line or a needle" in reasons["needle"]
    assert "convex" in reasons["box, subdivided"] and "convex" in reasons["sphere, fine"]
    assert "flat" in reasons["plane"] and "protrudes" in reasons["torus, fine"]


def test_the_error_names_the_file_and_is_a_mesh_format_error(tmp_path):
    box = next(mesh for mesh in rates.non_faces() if mesh.source == "box, subdivided")
    with pytest.raises(NotAFaceError) as caught:
        check_face(load_mesh({"vertices": box.vertices, "faces": box.faces, "source": "box.glb"}))
    assert isinstance(caught.value, MeshFormatError)
    assert str(caught.value).startswith("box.glb: does not look like a face: ") and "no emotion given" in str(caught.value)


def test_the_processor_refuses_a_non_face_unless_told_not_to(tiny, tmp_path):
    _, processor = tiny
    torus = next(mesh for mesh in rates.non_faces() if mesh.source == "torus, fine")
    with pytest.raises(NotAFaceError, match="torus, fine: does not look like a face"):
        processor(meshes=torus)
    processor.check_face = False
    assert processor(meshes=torus)["pixel_values"].shape[:2] == (1, 3)
    processor.save_pretrained(tmp_path)
    assert type(processor).from_pretrained(tmp_path).check_face is False  # the setting travels with the model


def test_the_check_runs_beside_alignment_and_its_refusal_wins_over_an_alignment_failure():
    """The processor checks a mesh while it aligns and renders it; whatever the alignment makes of a non-face
    (a fit, or an error of its own), the caller gets the refusal."""
    from affectvlm import AffectVLMProcessor
    from affectvlm.bundled import DEFAULT_MODEL

    processor = AffectVLMProcessor.from_pretrained(DEFAULT_MODEL)
    assert processor.face_alignment is not None
    for shape in rates.non_faces():
        with pytest.raises(NotAFaceError, match=f"{shape.source}: does not look like a face"):
            processor(meshes=shape)
    processor.check_face = False  # unchecked, a non-face is aligned as well as it can be, or clearly refused
    for shape in rates.non_faces():
        try:
            assert processor(meshes=shape)["pixel_values"].shape[:2] == (1, 3)
        except NotAFaceError:
            raise
        except MeshFormatError as error:
            assert str(error).startswith(f"{shape.source}: ")
