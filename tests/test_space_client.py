"""The Space as a visitor's program sees it: space/app.py served on localhost, queried with gradio_client."""

import zipfile
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from affectvlm.bundled import EXAMPLES
from affectvlm.ui.presentation import FRAME_WEIGHT_SERIES
from conftest import bundled_model_label, load_space_app, serving_space

# gradio's queue still calls pandas options that pandas 3 deprecates: its noise, not ours
pytestmark = pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated", "ignore:The copy keyword")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with serving_space(tmp_path_factory.mktemp("gradio_cache")) as url:
        yield Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("client_downloads")))


def _analyse(client, path, emotions="", *verdict):
    viewer, views, emotion, weights, zero_shot, timeline, status = client.predict(
        handle_file(str(path)), emotions, *verdict, api_name="/analyse")
    return {"viewer": viewer, "views": views, "emotion": emotion, "weights": weights, "zero_shot": zero_shot,
            "timeline": timeline, "status": status}


def test_the_space_serves_the_bundled_model_unless_told_otherwise(tmp_path, monkeypatch):
    app = load_space_app()
    monkeypatch.delenv("AFFECTVLM_MODEL", raising=False)
    assert app.model_name_or_path() == str(app.BUNDLED_MODEL)  # the committed card lists no model yet
    card = tmp_path / "README.md"
    card.write_text("---\ntitle: t\nsdk: gradio\nmodels:\n- someone/affectvlm-base\n- other/model\n---\n# t\n")
    assert app.model_name_or_path(card) == "someone/affectvlm-base"
    monkeypatch.setenv("AFFECTVLM_MODEL", "/models/mine")
    assert app.model_name_or_path(card) == "/models/mine"


def test_a_bundled_example_gets_its_label_views_viewer_and_status(client):
    expected = bundled_model_label(EXAMPLES / "happiness.ply")  # what the model says, not what is true
    result = _analyse(client, EXAMPLES / "happiness.ply", "happy, sad, bored")
    assert result["emotion"]["label"] == expected
    assert [view["caption"].split()[0] for view in result["views"]] == ["frontal", "left", "right"]
    assert Path(result["viewer"]).read_bytes()[:4] == b"glTF"
    assert {row["label"] for row in result["weights"]["confidences"]} == {"frontal", "left", "right"}
    assert {row["label"] for row in result["zero_shot"]["confidences"]} == {"happy", "sad", "bored"}
    assert result["timeline"]["visible"] is False
    assert result["status"].startswith(f"`happiness.ply`: **{expected}**")


def test_a_sequence_gets_a_timeline_with_where_the_model_looked_and_its_emotion(client):
    sequence = EXAMPLES / "surprise_sequence.zip"
    with zipfile.ZipFile(sequence) as archive:
        frames = len(archive.namelist())
    result = _analyse(client, sequence)
    assert result["emotion"]["label"] == "surprise"
    assert result["timeline"]["visible"] is True
    rows = result["timeline"]["value"]["data"]  # per frame: each emotion, and the learned pooling's frame weight
    assert len(rows) == frames * (len(result["emotion"]["confidences"]) + 1)
    looked = [row for row in rows if row[1] == FRAME_WEIGHT_SERIES]
    assert len(looked) == frames and max(row[2] for row in looked) == pytest.approx(1.0)
    assert f"{frames} frames" in result["status"] and "transformer pooling over the frames" in result["status"]
    around = _analyse(client, sequence, "", "16 frames around the apex")
    assert around["emotion"]["label"] == "surprise" and "16 frames around the apex (frames" in around["status"]
    with pytest.raises(AppError):
        _analyse(client, sequence, "", "the best frame")


def test_bad_files_get_a_clear_error_and_the_server_keeps_answering(client, tmp_path, example_face):
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n")
    with pytest.raises(AppError, match=r"^broken\.ply: cannot parse as a \.ply mesh"):
        _analyse(client, broken)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../escape.ply", example_face.read_bytes())
    with pytest.raises(AppError, match=r"^evil\.zip: entry '\.\./\.\./escape\.ply' points outside"):
        _analyse(client, evil)
    with pytest.raises(AppError, match="zero-shot emotions: give at least two"):
        _analyse(client, example_face, "happy")
    assert _analyse(client, example_face)["emotion"]["label"] == "happiness"


def test_the_zero_shot_text_is_optional_and_its_api_example_is_accepted(client):
    viewer, views, emotion, weights, zero_shot, timeline, status = client.predict(
        handle_file(str(EXAMPLES / "sadness.ply")), api_name="/analyse")
    assert not zero_shot and status.startswith("`sadness.ply`: **")
    (text,) = [p for p in client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/analyse"][
        "parameters"] if p["parameter_name"] == "emotions_text"]
    assert text["parameter_has_default"] is True
    example = text["example_input"]
    scores = _analyse(client, EXAMPLES / "sadness.ply", example)["zero_shot"]
    assert {row["label"] for row in scores["confidences"]} == {part.strip() for part in example.split(",")}


def test_a_non_face_gets_a_clear_error_and_no_emotion(client, tmp_path):
    import trimesh

    box = tmp_path / "box.glb"
    box.write_bytes(trimesh.creation.box().subdivide().subdivide().subdivide().export(file_type="glb"))
    with pytest.raises(AppError, match=r"^box\.glb: does not look like a face: .*no emotion given"):
        _analyse(client, box)
