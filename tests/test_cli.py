import json
import subprocess
import sys
import zipfile

import pytest
from PIL import Image

from affectvlm.bundled import EXAMPLES

from conftest import tiny_model_and_processor


def _affectvlm(*args, cwd):
    return subprocess.run([sys.executable, "-m", "affectvlm.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def saved_model(tiny, tmp_path):
    model, processor = tiny
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_predict_json_scores_each_file_and_reports_a_bad_one(saved_model, example_face, tmp_path):
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n")
    result = _affectvlm("predict", str(example_face), str(broken), str(example_face), "--model",
                        str(saved_model), "--json", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("affectvlm: error")]
    assert len(errors) == 1 and "broken.ply" in errors[0]
    rows = json.loads(result.stdout)
    assert [row["file"] for row in rows] == [str(example_face), str(broken), str(example_face)]
    assert rows[1]["error"] == errors[0].removeprefix("affectvlm: error: ") and "label" not in rows[1]
    for row in (rows[0], rows[2]):
        assert set(row["scores"]) == {"anger", "disgust", "fear", "happiness", "sadness", "surprise"}
        assert sum(row["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert row["label"] == max(row["scores"], key=row["scores"].get)


def test_predict_prints_a_readable_table(saved_model, example_face, tmp_path):
    result = _affectvlm("predict", str(example_face), "--model", str(saved_model), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{example_face}: ") and "happiness" in result.stdout and "%" in result.stdout


def test_render_saves_one_png_per_view(example_face, tmp_path):
    result = _affectvlm("render", str(example_face), "--out", str(tmp_path / "views"), "--size", "96", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in (tmp_path / "views").iterdir())
    assert names == ["example_face_frontal.png", "example_face_left.png", "example_face_right.png"]
    image = Image.open(tmp_path / "views" / "example_face_frontal.png")
    assert image.size == (96, 96) and image.getextrema() != ((0, 0), (0, 0), (0, 0))


def test_every_subcommand_has_help(tmp_path):
    for command in ([], ["predict"], ["render"]):
        result = _affectvlm(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "usage: affectvlm" in result.stdout


def test_a_reader_that_goes_away_gets_no_traceback(saved_model, example_face, tmp_path):
    # `true` exits before the model has loaded, so every write meets a closed pipe
    command = f"set -o pipefail; {sys.executable} -m affectvlm.cli predict {example_face} --model {saved_model} | true"
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr


def test_predict_scores_a_zip_or_folder_of_frames_as_one_sequence(saved_model, tmp_path):
    archive = EXAMPLES / "surprise_sequence.zip"
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(tmp_path / "unpacked")
    (folder,) = (tmp_path / "unpacked").iterdir()
    result = _affectvlm("predict", str(archive), str(folder), str(tmp_path / "missing.zip"), "--model",
                        str(saved_model), "--json", cwd=tmp_path)
    assert result.returncode == 1 and "missing.zip: file not found" in result.stderr
    from_zip, from_folder, missing = json.loads(result.stdout)
    assert missing == {"file": str(tmp_path / "missing.zip"), "error": f"{tmp_path / 'missing.zip'}: file not found"}
    with zipfile.ZipFile(archive) as bundle:
        assert len(from_zip["frames"]) == len(bundle.namelist())  # every frame scored, in order
    assert [f["frame"] for f in from_zip["frames"]][0].endswith("00.ply")
    assert from_zip["scores"] == from_folder["scores"] and sum(from_zip["scores"].values()) == pytest.approx(1, abs=1e-3)
    assert set(from_zip["frames"][0]["scores"]) == set(from_zip["scores"])
    assert sum(frame["weight"] for frame in from_zip["frames"]) == pytest.approx(1, abs=1e-3)


def test_predict_scores_the_frames_asked_for_around_the_apex(tmp_path):
    model, processor = tiny_model_and_processor(temporal_pooling="transformer")
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    archive = EXAMPLES / "surprise_sequence.zip"
    with zipfile.ZipFile(archive) as bundle:
        names = sorted(bundle.namelist())
    result = _affectvlm("predict", str(archive), "--model", str(tmp_path / "model"), "--json", "--num-frames", "3",
                        "--frame-sampling", "apex", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (scored,) = json.loads(result.stdout)
    chosen = [names.index(next(name for name in names if name.endswith(frame["frame"]))) for frame in scored["frames"]]
    assert len(chosen) == 3 and chosen == sorted(chosen) and chosen[0] > 0  # later than the neutral first frame
    assert sum(frame["weight"] for frame in scored["frames"]) == pytest.approx(1, abs=1e-3)
    wrong = _affectvlm("predict", str(archive), "--frame-sampling", "peak", cwd=tmp_path)
    assert wrong.returncode == 2 and "invalid choice: 'peak'" in wrong.stderr
