"""`pipeline()`: the exported checkpoint in a clean process without the package agrees with `affectvlm predict`;
in process, every kind of input, batching, zero-shot and errors."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh
from transformers import pipeline

import affectvlm
from affectvlm import PIPELINE_TASK, MeshFormatError
from affectvlm.bundled import EXAMPLES
from affectvlm.cli import main as affectvlm_main
from affectvlm.hub import CardInputs, export_model, load_model_and_processor
from affectvlm.ui.analysis import Reading, analyse_upload
from conftest import DEFAULT_MODEL, tiny_model_and_processor

FACES = sorted(EXAMPLES.glob("*.ply"))
SEQUENCE = EXAMPLES / "surprise_sequence.zip"
with zipfile.ZipFile(SEQUENCE) as _archive:
    SEQUENCE_FRAMES = len(_archive.namelist())
ZERO_SHOT = ["happy", "sad", "bored"]

CLEAN_PIPELINE = textwrap.dedent(
    """
    import json, sys
    sys.modules["affectvlm"] = None  # the user has no affectvlm: any `import affectvlm` raises ImportError
    from transformers import pipeline
    folder, sequence, zero_shot, faces = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4:]
    pipe = pipeline(model=folder, trust_remote_code=True)
    labels = list(pipe.model.config.emotion_labels)
    print(json.dumps({
        "module": type(pipe).__module__,
        "faces": pipe(faces, batch_size=3),
        "sequence": pipe(sequence),
        "own_labels_zero_shot": pipe(faces[0], candidate_labels=labels),
        "zero_shot": pipe(faces[0], candidate_labels=zero_shot),
    }))
    """
)


@pytest.fixture(scope="module")
def exported_default_model(tmp_path_factory) -> Path:
    model, processor = load_model_and_processor(DEFAULT_MODEL)
    return export_model(model, processor, tmp_path_factory.mktemp("export") / "default", source=DEFAULT_MODEL,
                        card=CardInputs("someone/affectvlm"))


def _predict_json(capsys, files) -> dict[str, dict]:
    """`affectvlm predict --json` on the bundled model, keyed by file."""
    assert affectvlm_main(["predict", *map(str, files), "--json"]) == 0
    return {row["file"]: row for row in json.loads(capsys.readouterr().out)}


def _assert_same_scores(pipeline_result, scores):
    assert {row["label"]: pytest.approx(row["score"], abs=1e-4) for row in pipeline_result} == scores


def test_the_exported_pipeline_without_the_package_agrees_with_affectvlm_predict(exported_default_model, tmp_path,
                                                                                  capsys):
    config = json.loads((exported_default_model / "config.json").read_text())
    assert config["custom_pipelines"][PIPELINE_TASK]["impl"] == "pipeline_affectvlm.AffectVLMPipeline"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    clean_process = subprocess.Popen(  # runs while this process scores the same files with the CLI
        [sys.executable, "-c", CLEAN_PIPELINE, str(exported_default_model), str(SEQUENCE), ",".join(ZERO_SHOT),
         *map(str, FACES)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    expected = _predict_json(capsys, [*FACES, SEQUENCE])
    model, processor = load_model_and_processor(DEFAULT_MODEL)
    demo = analyse_upload(FACES[0], model, processor, tmp_path, reading=Reading(tuple(ZERO_SHOT))).overall.zero_shot
    stdout, stderr = clean_process.communicate(timeout=600)
    assert clean_process.returncode == 0, stderr[-3000:]
    clean = json.loads(stdout.strip().splitlines()[-1])
    assert clean["module"].startswith("transformers_modules.")  # the folder's own code, not this package

    for face, result in zip(FACES, clean["faces"]):
        assert result[0]["label"] == expected[str(face)]["label"], face.name
        _assert_same_scores(result, expected[str(face)]["scores"])
    sequence = expected[str(SEQUENCE)]
    assert clean["sequence"][0]["label"] == sequence["label"]
    _assert_same_scores(clean["sequence"], sequence["scores"])
    frame_scores = np.array([row["frame_scores"] for row in clean["sequence"]])  # labels x frames
    frame_labels = [clean["sequence"][index]["label"] for index in frame_scores.argmax(axis=0)]
    assert frame_labels == [frame["label"] for frame in sequence["frames"]]

    # zero-shot on the model's own labels is its own scorer; other labels score like the demo's zero-shot
    first = expected[str(FACES[0])]
    assert clean["own_labels_zero_shot"][0]["label"] == first["label"]
    _assert_same_scores(clean["own_labels_zero_shot"], first["scores"])
    assert {row["label"]: row["score"] for row in clean["zero_shot"]} == pytest.approx(demo, abs=1e-5)


@pytest.fixture(scope="module")
def tiny_pipe():
    model, processor = tiny_model_and_processor()
    return pipeline(PIPELINE_TASK, model=model, processor=processor, device="cpu")


def test_the_task_is_registered_with_the_package():
    assert isinstance(pipeline(PIPELINE_TASK, model=str(DEFAULT_MODEL)), affectvlm.AffectVLMPipeline)


def test_a_path_a_trimesh_an_array_pair_and_a_mapping_score_alike(tiny_pipe):
    face = FACES[0]
    mesh = trimesh.load(face, process=False)
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    expected = tiny_pipe(str(face))
    assert [row["label"] for row in expected] and sum(row["score"] for row in expected) == pytest.approx(1.0)
    for same in (face, mesh, (vertices, faces), (vertices.tolist(), faces.tolist()),
                 {"vertices": vertices, "faces": faces}):
        _rows_close(tiny_pipe(same), expected)


def _rows_close(actual, expected, atol=1e-5) -> bool:
    assert [row["label"] for row in actual] == [row["label"] for row in expected]
    for got, want in zip(actual, expected):
        assert got["score"] == pytest.approx(want["score"], abs=atol)
        if "frame_scores" in want:
            assert got["frame_scores"] == pytest.approx(want["frame_scores"], abs=atol)
    return True


def test_batches_give_what_single_calls_give_and_top_k_cuts(tiny_pipe):
    singles = [tiny_pipe(str(face)) for face in FACES[:4]]
    batched = tiny_pipe([str(face) for face in FACES[:4]], batch_size=3)  # a full batch and a partial one
    assert len(batched) == 4 and all(_rows_close(got, want) for got, want in zip(batched, singles))
    top = tiny_pipe(str(FACES[0]), top_k=2)
    assert [row["label"] for row in top] == [row["label"] for row in singles[0][:2]]


def test_a_sequence_as_zip_folder_or_frame_list_scores_alike(tiny_pipe, tmp_path):
    with zipfile.ZipFile(SEQUENCE) as archive:
        archive.extractall(tmp_path / "frames")
    frames = sorted((tmp_path / "frames").rglob("*.ply"))
    folder = frames[0].parent
    shuffled = tmp_path / "shuffled"  # natural order, not the order the names were written in
    shuffled.mkdir()
    for frame in reversed(frames):
        shutil.copy(frame, shuffled / frame.name)
    expected = tiny_pipe(str(SEQUENCE))
    assert all(len(row["frame_scores"]) == len(frames) for row in expected)
    for same in (folder, shuffled, [[str(frame) for frame in frames]]):
        result = tiny_pipe(same)
        _rows_close(result[0] if isinstance(same, list) else result, expected)
    sampled = tiny_pipe(str(SEQUENCE), num_frames=2)
    assert all(len(row["frame_scores"]) == 2 for row in sampled)
    two = tiny_pipe([str(SEQUENCE), folder], batch_size=2, num_frames=3)
    assert len(two) == 2 and _rows_close(two[0], two[1])


def test_zero_shot_scores_the_candidate_labels_only(tiny_pipe):
    result = tiny_pipe(str(FACES[0]), candidate_labels="calm, furious, amused")
    assert {row["label"] for row in result} == {"calm", "furious", "amused"}
    assert sum(row["score"] for row in result) == pytest.approx(1.0)
    own = list(tiny_pipe.model.config.emotion_labels)
    _rows_close(tiny_pipe(str(FACES[0]), candidate_labels=own), tiny_pipe(str(FACES[0])))
    sequence = tiny_pipe(str(SEQUENCE), candidate_labels=["calm", "surprised"])
    assert len(sequence) == 2 and all(len(row["frame_scores"]) == SEQUENCE_FRAMES for row in sequence)
    with pytest.raises(ValueError, match="at least two"):
        tiny_pipe(str(FACES[0]), candidate_labels=["calm"])
    with pytest.raises(ValueError, match="repeats"):
        tiny_pipe(str(FACES[0]), candidate_labels=["calm", "Calm"])


def test_bad_input_names_the_file(tiny_pipe, tmp_path):
    with pytest.raises(MeshFormatError, match=r"missing\.ply: file not found"):
        tiny_pipe(str(tmp_path / "missing.ply"))
    archive = tmp_path / "seq.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(FACES[0], "frame_1.ply")
        bundle.writestr("frame_2.ply", b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n")
    with pytest.raises(MeshFormatError, match=rf"^{archive}/frame_2\.ply: cannot parse"):
        tiny_pipe(str(archive))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MeshFormatError, match="no mesh frames"):
        tiny_pipe(str(tmp_path / "empty"))
    with pytest.raises(MeshFormatError, match=r"^<\(vertices, faces\)>"):
        tiny_pipe((np.zeros((3, 3)), np.array([[0, 1, 5]])))
