"""Hub publishing: the card from results JSONs, the export and its clean-process check, upload, Space folder.

Offline: uploads go to a recording stand-in for HfApi. One tiny random model, exported once per module.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from huggingface_hub import ModelCard, metadata_load
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from affectvlm.hub import (
    EXPORT_MARKER,
    SPACE_MARKER,
    ExportCheckError,
    OutputFolderError,
    RecordError,
    CardInputs,
    HubRepo,
    build_model_card,
    check_export,
    load_model_and_processor,
    load_results,
    load_training_summary,
    prepare_space,
    upload_folder_to_hub,
)
from affectvlm.hub.folders import claim_output_folder
from conftest import tiny_model_and_processor

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
RESULTS_3D = DATA / "results_example.json"
RESULTS_4D = DATA / "results_4d_example.json"
TRAINING_SUMMARY = DATA / "training_summary_example.json"
REPO_ID = "someone/affectvlm-tiny"


def load_script():
    spec = importlib.util.spec_from_file_location("push_to_hub", REPO / "scripts" / "push_to_hub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingHubApi:
    """Stands in for HfApi: records create_repo / upload_folder instead of calling the Hub."""

    instances: list["RecordingHubApi"] = []

    def __init__(self, token=None):
        self.token = token
        self.calls = []
        RecordingHubApi.instances.append(self)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        self.calls.append(("upload_folder", repo_id, {"folder_path": folder_path, **kwargs}))
        return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/0")


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    model, processor = tiny_model_and_processor()
    folder = tmp_path_factory.mktemp("tiny_model")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def dry_run_export(model_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exports") / "dry_run"
    code = load_script().main([
        "--model", str(model_folder), "--repo-id", REPO_ID, "--results", str(RESULTS_3D), str(RESULTS_4D),
        "--training-summary", str(TRAINING_SUMMARY), "--dry-run", "--out", str(out),
    ])
    assert code == 0
    return out


@pytest.fixture
def space_dir(tmp_path) -> Path:
    """A Space folder in the convention of space/: the app reads its model from README `models:`."""
    folder = tmp_path / "space"
    folder.mkdir()
    (folder / "README.md").write_text(textwrap.dedent("""\
        ---
        title: AffectVLM
        sdk: gradio
        app_file: app.py
        models:
        - placeholder/model
        ---

        # AffectVLM demo
        """))
    (folder / "app.py").write_text("from huggingface_hub import metadata_load\n"
                                   "MODEL = metadata_load('README.md')['models'][0]\n")
    (folder / "requirements.txt").write_text("affectvlm[space]>=0.1\ngradio>=6,<7\n")
    return folder


def test_the_training_table_says_where_the_run_started(model_folder):
    from affectvlm.hub.card import NOT_RECORDED, training_rows
    from affectvlm.hub.model_facts import read_model_facts

    facts = read_model_facts(model_folder)

    def base_row(summary):
        return dict(training_rows(summary, facts))["Base model"]

    assert base_row({"base_model": "openai/clip-vit-base-patch32"}) == "openai/clip-vit-base-patch32"
    assert "local checkpoint" in base_row({"base_model": "runs/default-blend/best"})
    assert base_row({"base_model": None}).startswith("none")
    assert base_row({}) == NOT_RECORDED


def test_card_model_index_holds_the_results_means(model_folder, tmp_path):
    results = [load_results(RESULTS_3D), load_results(RESULTS_4D)]
    card = build_model_card(model_folder, CardInputs(REPO_ID, results=results,
                                                     training_summary=load_training_summary(TRAINING_SUMMARY)))
    card.save(tmp_path / "README.md")

    data = ModelCard.load(tmp_path / "README.md").data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == "zero-shot-image-classification"
    assert data.base_model == "openai/clip-vit-base-patch32"
    assert {"3d", "facial-expression-recognition", "emotion-recognition", "vision-language"} <= set(data.tags)
    assert data.datasets is None  # synthetic training faces are not the real dataset
    recorded = {(entry.dataset_name, entry.metric_type, entry.metric_name): entry.metric_value
                for entry in data.eval_results}
    for path, result in ((RESULTS_3D, results[0]), (RESULTS_4D, results[1])):
        raw = json.loads(path.read_text())
        name = raw["dataset"]["name"] + " (synthetic)"
        folds = raw["summary"]["num_folds"]
        accuracy = "Frame accuracy" if raw.get("sequence") else "Accuracy"
        summary = raw["summary"]
        assert recorded[(name, "accuracy", f"{accuracy} (mean of {folds} folds)")] == summary["accuracy"]["mean"]
        assert recorded[(name, "f1", f"Macro-F1 (mean of {folds} folds)")] == summary["macro_f1"]["mean"]
    sequence = json.loads(RESULTS_4D.read_text())["sequence"]["sequence_accuracy"]["mean"]
    assert recorded[("BU-4DFE (synthetic)", "accuracy", "Sequence accuracy (mean of 2 folds)")] == sequence


def test_card_tables_hold_every_fold_and_class(model_folder):
    raw = json.loads(RESULTS_3D.read_text())
    text = build_model_card(model_folder, CardInputs(REPO_ID, results=[load_results(RESULTS_3D)])).text
    for fold in raw["folds"]:
        accuracy, macro_f1 = 100 * fold["accuracy"], 100 * fold["macro_f1"]
        assert f"| {fold['fold']} | {fold['num_samples']} | {accuracy:.2f} | {macro_f1:.2f} |" in text
    summary = raw["summary"]
    assert (f"| {100 * summary['accuracy']['mean']:.2f} ± {100 * summary['accuracy']['std']:.2f} "
            f"| {100 * summary['macro_f1']['mean']:.2f} ± {100 * summary['macro_f1']['std']:.2f} |") in text
    for label in raw["labels"]:
        recall = sum(fold["per_class"][label]["recall"] for fold in raw["folds"]) / len(raw["folds"])
        assert f"| {label} |" in text and f"{100 * recall:.2f}" in text
    assert "Training data not recorded" in text


def test_card_shows_how_the_model_reads_a_sequence_and_the_temporal_comparison(model_folder):
    summary = {part: {"transformer": {"mean": 0.9, "std": 0.01}, "mean": {"mean": 0.8, "std": 0.02},
                      "vote": {"mean": 0.7, "std": 0.0}, "oracle frame": {"mean": 0.95, "std": 0.0}}
               for part in ("whole", "first half")}
    temporal = {"summary": summary, "per_seed": [{}, {}, {}], "num_sequences": 144, "num_subjects": 24,
                "folds": 5, "frames_per_sequence": {"min": 25, "median": 60, "max": 100}, "num_frames": 16,
                "head": "transformer",
                "command": "python scripts/train_temporal_head.py --data-dir somewhere"}
    text = build_model_card(model_folder, CardInputs(REPO_ID, temporal=temporal)).text
    assert "| method | whole | first half |" in text
    assert "| transformer | 90.00 ± 1.00 | 90.00 ± 1.00 |" in text and "| vote | 70.00 ± 0.00 |" in text
    assert "144 sequences of 24 subjects, 25 to 100 frames each" in text
    assert "5 subject-independent folds, 3 seeds" in text
    assert "python scripts/train_temporal_head.py --data-dir somewhere" in text
    assert "then mean pooling over time" in text and "the order of the frames does not count" in text
    assert "Reading a 4D sequence" not in build_model_card(model_folder, CardInputs(REPO_ID)).text


def test_malformed_results_are_refused_with_the_field_named(tmp_path):
    raw = json.loads(RESULTS_3D.read_text())
    del raw["folds"][1]["macro_f1"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(raw))
    with pytest.raises(RecordError, match=r"folds\[1\].*macro_f1"):
        load_results(broken)


def test_dry_run_leaves_a_checked_export(dry_run_export):
    names = {path.name for path in dry_run_export.iterdir()}
    assert {"model.safetensors", "config.json", "processor_config.json", "tokenizer.json", "README.md",
            "modeling_affectvlm.py", "processing_affectvlm.py", "configuration_affectvlm.py", "pipeline_affectvlm.py",
            "training_summary.json", "evaluation", EXPORT_MARKER} <= names
    check = json.loads((dry_run_export / EXPORT_MARKER).read_text())["check"]
    assert set(check["max_abs_diff"]) == {"pixel_values", "logits", "face_embeds", "pipeline_scores"}
    # dataset roots are paths on the maintainer's disk: not published
    published = [dry_run_export / "training_summary.json", *(dry_run_export / "evaluation").glob("*.json")]
    assert len(published) == 3 and all('"root"' not in path.read_text() for path in published)


def test_dry_run_export_loads_in_a_fresh_process_without_the_package(dry_run_export, tmp_path):
    code = textwrap.dedent("""
        import json, sys
        sys.modules["affectvlm"] = None
        from transformers import AutoModel, AutoProcessor
        model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
        processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
        print(json.dumps([type(model).__module__, type(processor).__module__, model.config.emotion_labels]))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    run = subprocess.run([sys.executable, "-c", code, str(dry_run_export)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    model_module, processor_module, labels = json.loads(run.stdout.strip().splitlines()[-1])
    assert model_module.startswith("transformers_modules.") and processor_module.startswith("transformers_modules.")
    assert labels == json.loads(RESULTS_3D.read_text())["labels"]


def test_a_tampered_weight_fails_the_check(model_folder, dry_run_export, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(dry_run_export, tampered)
    weights_file = tampered / "model.safetensors"
    with safe_open(weights_file, framework="pt") as handle:
        metadata = handle.metadata()
    weights = load_file(weights_file)
    weights["visual_projection.weight"][0, 0] += 0.5
    save_file(weights, weights_file, metadata=metadata)

    model, processor = load_model_and_processor(model_folder)
    with pytest.raises(ExportCheckError) as failure:
        check_export(model, processor, tampered)
    message = str(failure.value)
    assert "logits: max |difference|" in message and "face_embeds: max |difference|" in message
    assert "pixel_values" not in message  # the rendering is the same: the weights are what differ


def test_a_non_empty_folder_that_is_not_an_export_is_never_overwritten(model_folder, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputFolderError, match="not a previous AffectVLM export"):
        claim_output_folder(precious, EXPORT_MARKER, "AffectVLM export")
    assert (precious / "thesis.tex").read_text() == "years of work"
    with pytest.raises(OutputFolderError, match="holds the input"):
        claim_output_folder(model_folder.parent, EXPORT_MARKER, "AffectVLM export", inputs=(model_folder,))

    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / EXPORT_MARKER).write_text("{}")
    (previous / "stale.bin").write_text("old")
    assert not any(claim_output_folder(previous, EXPORT_MARKER, "AffectVLM export").iterdir())


def test_upload_creates_the_repo_and_uploads_the_folder(dry_run_export):
    api = RecordingHubApi()
    url = upload_folder_to_hub(dry_run_export, HubRepo(REPO_ID, private=True), ignore_patterns=[EXPORT_MARKER], api=api)
    assert url.startswith(f"https://huggingface.co/{REPO_ID}")
    (create, repo_id, create_args), (upload, upload_id, upload_args) = api.calls
    assert (create, repo_id, upload, upload_id) == ("create_repo", REPO_ID, "upload_folder", REPO_ID)
    assert create_args["exist_ok"] is True and create_args["private"] is True
    assert Path(upload_args["folder_path"]) == dry_run_export and upload_args["repo_type"] == "model"
    assert upload_args["ignore_patterns"] == [EXPORT_MARKER]


def test_script_uploads_model_and_space_through_hfapi(model_folder, space_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("affectvlm.hub.push.HfApi", RecordingHubApi)
    RecordingHubApi.instances.clear()
    out, space_out = tmp_path / "export", tmp_path / "space_upload"
    code = load_script().main([
        "--model", str(model_folder), "--repo-id", REPO_ID, "--out", str(out), "--token", "hf_fake",
        "--space-dir", str(space_dir), "--space-out", str(space_out), "--space-repo-id", "someone/affectvlm-demo",
    ])
    assert code == 0
    model_api, space_api = RecordingHubApi.instances
    assert model_api.token == "hf_fake"
    assert [(name, repo) for name, repo, _ in model_api.calls] == [("create_repo", REPO_ID), ("upload_folder", REPO_ID)]
    assert Path(model_api.calls[1][2]["folder_path"]) == out.resolve()
    assert [(name, repo) for name, repo, _ in space_api.calls] == [
        ("create_repo", "someone/affectvlm-demo"), ("upload_folder", "someone/affectvlm-demo")]
    assert space_api.calls[0][2]["repo_type"] == "space" and space_api.calls[0][2]["space_sdk"] == "gradio"
    assert Path(space_api.calls[1][2]["folder_path"]) == space_out.resolve()


@pytest.mark.parametrize("real_space", [None, REPO / "space"], ids=["fixture-space", "project-space"])
def test_prepared_space_points_at_the_model_and_vendors_the_package(real_space, space_dir, tmp_path):
    """The fixture Space always; the project's space/ too once it exists."""
    if real_space is not None and not (real_space / "README.md").is_file():
        pytest.skip("space/ does not exist yet")
    source = real_space or space_dir
    out = prepare_space(source, tmp_path / "space_upload", REPO_ID)

    assert metadata_load(out / "README.md")["models"] == [REPO_ID]
    assert (out / "app.py").read_text() == (source / "app.py").read_text()
    vendored = out / "affectvlm"
    package = REPO / "affectvlm"
    expected = {p.relative_to(package) for p in package.rglob("*.py") if "default_model" not in p.parts}
    assert {p.relative_to(vendored) for p in vendored.rglob("*.py")} == expected
    assert not (vendored / "assets" / "default_model").exists()
    assert not list(vendored.rglob("__pycache__"))
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert not any(line.startswith("affectvlm") for line in requirements)
    assert any(line.startswith("transformers") for line in requirements)
    assert (out / SPACE_MARKER).is_file()
