"""The hard held-out set is written in every format and read back by the real readers; scores and baselines
are computed as their docstrings say."""

import shutil
from pathlib import Path

import numpy as np

from affectvlm.bundled import DEFAULT_MODEL, load_pretrained
from affectvlm.evaluation.baselines import LinearProbe, fit_probe
from affectvlm.evaluation.heldout import FORMATS, HeldoutFace, read_heldout_index, write_heldout_faces
from affectvlm.evaluation.heldout_eval import BaselineData, baseline_scores, six_class_accuracy, summarise, wilson_interval
from affectvlm.hub.card import heldout_tables, percent
from affectvlm.model.meshes_affectvlm import load_mesh
from affectvlm.synthetic import DatasetRequest, SyntheticRequest, write_synthetic_dataset


def test_held_out_faces_come_in_every_format_with_new_identities_and_recipes(tmp_path):
    faces = write_heldout_faces(tmp_path, subjects=1, emotions=("happiness", "anger", "fear", "sadness", "surprise", "disgust"))
    assert {face.format for face in faces} == set(FORMATS)
    assert {face.recipe_split for face in faces} == {"heldout", "train"}
    assert all(face.subject >= 30_000 for face in faces)
    assert read_heldout_index(tmp_path) == faces
    for face in faces:
        mesh = load_mesh(face.path)
        assert len(mesh.faces) > 1000
        assert np.abs(mesh.vertices).max() > 50  # millimetres, somewhere in space


def test_a_baseline_that_can_read_no_test_face_is_left_out_not_a_crash(tmp_path):
    emotions = ("happiness", "anger")
    for name, offset in (("train", 0), ("val", 100)):
        write_synthetic_dataset(DatasetRequest(tmp_path / name, "folder", 2, SyntheticRequest(
            emotions=emotions, texture_size=0, recipes="train", faces_per_emotion=2), subject_seed_offset=offset))
    faces = write_heldout_faces(tmp_path / "test", subjects=1, emotions=emotions)
    data = BaselineData(str(tmp_path / "train"), str(tmp_path / "val"), num_faces=8)
    alignment = load_pretrained(DEFAULT_MODEL)[1].alignment  # the registration the baselines' pixels need
    cut_faces = [face for face in faces if face.crop != "full head"]  # another topology: no vertex features
    assert set(baseline_scores(data, faces, emotions, alignment, workers=1)) == {"pixels", "vertices"}
    only_pixels = baseline_scores(data, cut_faces, emotions, alignment, workers=1)
    assert set(only_pixels) == {"pixels"} and len(only_pixels["pixels"]["predicted"]) == len(cut_faces)


def _face(label, fmt, path="f"):
    return HeldoutFace(path, label, 1, "r", "heldout", "full head", fmt, (0.0, 0.0, 0.0))


def test_a_refused_face_counts_as_wrong_and_groups_are_scored_apart():
    faces = [_face("a", ".obj", "f1.obj"), _face("b", ".ply", "f2.ply"), _face("b", ".ply", "f3.ply")]
    scores = summarise([0, 1, 1], [0, 1, -1], faces, ["a", "b"])
    assert scores["accuracy"] == 2 / 3 and scores["refused_as_not_a_face"] == 1
    assert scores["by_format"][".obj"]["accuracy"] == 1.0 and scores["by_format"][".ply"]["accuracy"] == 0.5
    assert scores["predictions"] == {"f1.obj": "a", "f2.ply": "b", "f3.ply": None}  # each face's, to cross groups


def test_six_class_accuracy_leaves_neutral_out_of_the_choice():
    probabilities = np.array([[0.4, 0.1, 0.5], [0.1, 0.3, 0.6], [0.0, 0.0, 1.0]])
    assert six_class_accuracy([0, 1, 2], probabilities, [0, 1, 2], ["a", "b", "neutral"]) == 1.0


def test_wilson_interval_holds_the_accuracy_and_narrows_with_more_faces():
    low, high = wilson_interval(90, 100)
    assert low < 0.9 < high
    assert high - low > wilson_interval(900, 1000)[1] - wilson_interval(900, 1000)[0]


def test_the_linear_probe_separates_separable_classes_and_picks_a_strength():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    features = rng.standard_normal((300, 20)) + 3 * np.eye(3, 20)[labels]
    probe, strengths = fit_probe((features[:200], labels[:200]), (features[200:], labels[200:]), 3)
    assert (probe.predict(features[200:]) == labels[200:]).mean() > 0.9
    assert len(strengths) > 1
    assert isinstance(probe, LinearProbe)


def test_the_card_sets_each_baseline_beside_the_model_on_the_same_faces():
    faces = [_face("a", ".obj"), _face("b", ".ply"), _face("b", ".bnt")]
    model = summarise([0, 1, 1], [0, 1, 0], faces, ["a", "b"])
    vertices = summarise([0, 1], [0, 0], faces[:2], ["a", "b"])
    vertices["model_on_the_same_faces"] = {"accuracy": 1.0, "accuracy_95ci": wilson_interval(2, 2)}
    tables = heldout_tables({"model_scores": model, "baseline_vertices": vertices})
    rows = {row["name"]: row for row in tables["rows"]}
    assert rows["model"]["faces"] == 3 and rows["model"]["model_on_the_same_faces"] == "–"
    assert rows["vertices baseline"]["accuracy"] == percent(0.5)
    assert rows["vertices baseline"]["model_on_the_same_faces"].startswith(percent(1.0))
    by_format = {row["value"]: row["cells"] for row in tables["groups"] if row["group"] == "format"}
    assert by_format[".bnt"] == [percent(0.0), "–"]  # the vertex baseline never saw the range scan


def test_a_copied_held_out_folder_reads_its_own_faces_not_the_originals(tmp_path, monkeypatch):
    original = tmp_path / "original"
    faces = write_heldout_faces(original, subjects=1, emotions=("happiness", "anger"))
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    monkeypatch.chdir(tmp_path / "elsewhere")  # another working directory than the one that wrote them
    copied = read_heldout_index("copy")
    assert [Path(face.path).name for face in copied] == [Path(face.path).name for face in faces]
    assert all(Path(face.path).is_file() and Path(face.path).parent == Path("copy") for face in copied)
