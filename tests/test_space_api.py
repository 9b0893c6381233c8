"""The Space's `/predict` endpoint as a program sees it: the README's gradio_client example, the API page's own
example, sequences, zero-shot, refusals; and where the model runs (GPU, ZeroGPU's `spaces.GPU`)."""

import ast
import contextlib
import io
import json
import pickle
import re
import sys
import types
import urllib.request
from pathlib import Path

import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from affectvlm.bundled import EXAMPLES
from affectvlm.cli import main as affectvlm_main
from affectvlm.ui import DemoLimits, hardware
from affectvlm.ui.analysis import Reading
from conftest import serving_space, tiny_model_and_processor

REPO = Path(__file__).resolve().parents[1]
README_URL = "http://127.0.0.1:7860/"

pytestmark = pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated", "ignore:The copy keyword")


@pytest.fixture(scope="module")
def space_url(tmp_path_factory):
    with serving_space(tmp_path_factory.mktemp("gradio_cache")) as url:
        yield url


@pytest.fixture(scope="module")
def client(space_url):
    return Client(space_url, verbose=False)


def _predict_json(capsys, *files) -> dict[str, dict]:
    """What `affectvlm predict --json` says (the bundled model, as the Space serves it), by file name."""
    assert affectvlm_main(["predict", *map(str, files), "--json"]) == 0
    return {Path(row["file"]).name: row for row in json.loads(capsys.readouterr().out)}


def _run_python(code: str) -> str:
    """The last line the code prints (gradio_client's Client first says where it connected)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<example>", "exec"), {})
    return printed.getvalue().strip().splitlines()[-1]


def test_the_readme_example_runs_against_the_space(space_url, capsys, monkeypatch):
    section = (REPO / "README.md").read_text().split("### Calling the Space from code", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert README_URL in code and len(code.strip().splitlines()) <= 5
    monkeypatch.chdir(REPO)  # the example names a bundled face by its path in the checkout
    printed = _run_python(code.replace(README_URL, space_url))
    expected = _predict_json(capsys, EXAMPLES / "happiness.ply")["happiness.ply"]
    label, scores = printed.split(" ", 1)
    assert label == expected["label"]
    assert ast.literal_eval(scores) == pytest.approx(expected["scores"], abs=1e-4)


def test_the_api_page_documents_predict_with_an_example_that_works(space_url, capsys):
    info = json.load(urllib.request.urlopen(f"{space_url}gradio_api/info"))["named_endpoints"]["/predict"]
    assert [parameter["parameter_name"] for parameter in info["parameters"]] == ["mesh_file", "candidate_labels"]
    assert info["parameters"][1]["parameter_has_default"] and info["parameters"][1]["parameter_default"] is None
    assert {"label", "scores", "view_weights", "zero_shot", "frames"} <= set(info["returns"][0]["type"]["properties"])
    assert "candidate_labels" in info["description"]
    snippet = info["code_snippets"]["python"]
    assert "handle_file(" in snippet and "..." not in snippet
    result = ast.literal_eval(_run_python(snippet))  # the page's snippet prints the result
    expected = _predict_json(capsys, EXAMPLES / result["file"])[result["file"]]
    assert result["label"] == expected["label"] and result["scores"] == pytest.approx(expected["scores"], abs=1e-4)
    assert set(result["view_weights"]) == {"frontal", "left", "right"} and result["frames"] == []


def test_a_sequence_gets_every_frame_and_zero_shot_scores(client, capsys):
    sequence = EXAMPLES / "surprise_sequence.zip"
    result = client.predict(handle_file(str(sequence)), ["calm", "surprised"], api_name="/predict")
    expected = _predict_json(capsys, sequence)[sequence.name]
    assert result["file"] == sequence.name and result["label"] == expected["label"]
    assert result["scores"] == pytest.approx(expected["scores"], abs=1e-4)
    assert [frame["label"] for frame in result["frames"]] == [frame["label"] for frame in expected["frames"]]
    assert [Path(frame["frame"]).name for frame in result["frames"]] == [frame["frame"] for frame in expected["frames"]]
    assert set(result["zero_shot"]) == {"calm", "surprised"} and sum(result["zero_shot"].values()) == pytest.approx(1)
    assert all(set(frame["zero_shot"]) == {"calm", "surprised"} for frame in result["frames"])
    assert set(result["view_weights"]) == {"frontal", "left", "right"}


def test_bad_requests_get_a_clear_error(client, tmp_path):
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n")
    with pytest.raises(AppError, match=r"^broken\.ply: cannot parse as a \.ply mesh"):
        client.predict(handle_file(str(broken)), api_name="/predict")
    with pytest.raises(AppError, match="give at least two"):
        client.predict(handle_file(str(EXAMPLES / "anger.ply")), ["calm"], api_name="/predict")
    with pytest.raises(AppError, match="send the file itself"):  # a path on the server is never opened
        client.predict(str(REPO / "README.md"), api_name="/predict")


def test_zero_gpu_wraps_the_analysis_only_where_spaces_is_installed(monkeypatch):
    def analyse():
        return "analysed"

    monkeypatch.setitem(sys.modules, "spaces", None)  # not installed: any `import spaces` fails
    assert hardware.on_gpu(analyse) is analyse
    wrapped = []
    fake_spaces = types.SimpleNamespace(GPU=lambda function: wrapped.append(function) or (lambda: "on the GPU"))
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces)
    assert hardware.on_gpu(analyse)() == "on the GPU" and wrapped == [analyse]
    assert hardware.model_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_on_zero_gpu_one_analysis_crosses_with_small_arguments(monkeypatch, tmp_path):
    """ZeroGPU pickles every call's arguments into its GPU process: a file name and settings, never the model."""
    crossed = []

    def gpu(function):
        def in_the_gpu_process(*args):
            crossed.append(pickle.dumps(args))
            return function(*pickle.loads(crossed[-1]))
        return in_the_gpu_process

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    model, processor = tiny_model_and_processor()
    analyse = hardware.analysis_on_device(model, processor)
    assert hardware.analysis_on_device(model, processor) is analyse  # the page and the API share one worker
    analysis = analyse(EXAMPLES / "anger.ply", tmp_path, DemoLimits(), Reading(("calm", "angry")))
    assert analysis.source == "anger.ply" and set(analysis.overall.zero_shot) == {"calm", "angry"}
    assert len(crossed) == 1 and len(crossed[0]) < 2_000
