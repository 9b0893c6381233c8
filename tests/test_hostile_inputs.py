"""Hostile files, things that are not faces, and the fuzz harness: `affectvlm predict` names every bad file in
one line, gives no emotion for a non-face, scores the good face beside them, and never shows a traceback."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from affectvlm.cli import _file_error
from hostile_files import hostile_files, non_face_files

ROOT = Path(__file__).parents[1]


@pytest.fixture
def saved_model(tiny, tmp_path):
    model, processor = tiny
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _predict(*args, cwd):
    return subprocess.run([sys.executable, "-m", "affectvlm.cli", "predict", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_predict_names_every_bad_file_in_one_line_and_scores_the_good_face(saved_model, example_face, tmp_path):
    bad = hostile_files(tmp_path / "hostile", example_face)
    not_faces = non_face_files(tmp_path / "not_faces")
    result = _predict(*bad, *not_faces, example_face, "--model", saved_model, "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("affectvlm: error: ")]
    assert len(errors) == len(bad) + len(not_faces), result.stderr
    for path, line in zip([*bad, *not_faces], errors):
        assert path.name in line, line
    for line in errors[len(bad):]:
        assert "does not look like a face" in line and "no emotion given" in line
    records = json.loads(result.stdout)
    assert [Path(record["file"]).name for record in records] == [p.name for p in [*bad, *not_faces, example_face]]
    assert all("error" in record and "label" not in record for record in records[:-1])
    assert records[-1]["label"] in records[-1]["scores"] and "error" not in records[-1]


def test_the_face_check_can_be_turned_off_for_research(saved_model, tmp_path):
    box = next(path for path in non_face_files(tmp_path / "not_faces") if path.name == "box.glb")
    result = _predict(box, "--model", saved_model, "--no-face-check", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["label"]


def test_an_unexpected_error_names_the_file_and_asks_for_a_bug_report(capsys):
    message = _file_error("face.obj", KeyError("vertex"), debug=False)
    assert message.startswith("face.obj: unexpected KeyError") and "bug" in message and "--debug" in message
    assert capsys.readouterr().err == ""
    _file_error("face.obj", KeyError("vertex"), debug=True)
    assert "KeyError" in capsys.readouterr().err


def test_a_short_fuzz_run_neither_crashes_nor_loses_a_file_name(tmp_path):
    spec = importlib.util.spec_from_file_location("fuzz_meshes", ROOT / "scripts" / "fuzz_meshes.py")
    fuzz_meshes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz_meshes)
    results = fuzz_meshes.fuzz(count=220, seed=1, workdir=tmp_path)
    assert results["files"] == 220 and set(results["by_format"]) == {
        "seed.bnt", "seed.glb", "seed.gltf", "seed.obj", "seed.off", "seed.wrl", "seed_ascii.ply", "seed_ascii.stl",
        "seed_binary.ply", "seed_binary.stl"}
    assert results["crashes"] == 0 and results["errors_without_file_name"] == 0, results["bad_cases"][:3]
    assert results["outcomes"].get("error", 0) > 0 and results["outcomes"].get("mesh", 0) > 0
