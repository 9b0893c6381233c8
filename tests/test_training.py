"""Training end to end on synthetic BU-3DFE files: exact resume, two real processes, evaluation, ablations."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from affectvlm.data.loading import load_sample
from affectvlm.evaluation.evaluate import EvaluationSettings, FoldFaces, evaluate_folds
from affectvlm.model.processing_affectvlm import prepare_face
from affectvlm.model.prompts_affectvlm import class_prompts
from affectvlm.synthetic import DatasetRequest, SyntheticRequest, write_synthetic_dataset
from affectvlm.training.ablations import run_ablations
from affectvlm.training.config import TrainConfig, config_from_args
from affectvlm.training.models import model_for
from affectvlm.training.trainer import train, use_deterministic_gpu_kernels

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bu3dfe")
    write_synthetic_dataset(DatasetRequest(root, "bu3dfe", 8, SyntheticRequest(
        emotions=("anger", "happiness", "surprise"), intensities=(4,), texture_size=16)))
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _config(data_root: Path, cache_dir: Path, output: Path, **overrides) -> TrainConfig:
    settings = dict(
        data_dir=str(data_root), cache_dir=str(cache_dir), output_dir=str(output), model_preset="tiny",
        labels=["anger", "happiness", "surprise"], folds=4, batch_size=6, max_steps=6, warmup_steps=2,
        eval_every=3, checkpoint_every=3, log_every=1, render_workers=0, cpu=True,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_a_stopped_and_resumed_run_ends_exactly_like_an_uninterrupted_one(data_root, cache_dir, tmp_path):
    straight = train(_config(data_root, cache_dir, tmp_path / "straight"))
    assert straight["steps"] == 6 and not straight["stopped_early"]

    interrupted = _config(data_root, cache_dir, tmp_path / "resumed", stop_after_steps=4)
    first = train(interrupted)
    assert first["stopped_early"] and first["steps"] == 4
    assert not (tmp_path / "resumed" / "final").exists()
    (tmp_path / "resumed" / "checkpoints" / ".staging-step-0000005").mkdir()  # as a kill during a save leaves
    second = train(_config(data_root, cache_dir, tmp_path / "resumed"))  # the same command again
    assert second["steps"] == 6

    expected, resumed = _weights(tmp_path / "straight" / "final"), _weights(tmp_path / "resumed" / "final")
    assert expected.keys() == resumed.keys()
    for name in expected:
        assert torch.equal(expected[name], resumed[name]), name
    losses = [[(r["step"], r["loss"]) for r in map(json.loads, (tmp_path / run / "metrics.jsonl").read_text().split("\n")[:-1])
               if "loss" in r] for run in ("straight", "resumed")]
    assert losses[0] == losses[1] and [step for step, _ in losses[0]] == list(range(1, 7))
    assert not list((tmp_path / "resumed" / "checkpoints").glob(".staging-*"))

    summary = json.loads((tmp_path / "straight" / "training_summary.json").read_text())
    results = json.loads((tmp_path / "straight" / "test_results.json").read_text())
    confusion = results["folds"][0]["confusion_matrix"]
    assert summary["test"]["num_samples"] == 6 == sum(map(sum, confusion))
    assert summary["test"]["accuracy"] == pytest.approx(sum(confusion[i][i] for i in range(3)) / 6)
    assert results["labels"] == ["anger", "happiness", "surprise"] and results["summary"]["num_folds"] == 1
    assert (tmp_path / "straight" / "training_curves.png").stat().st_size > 1000
    for folder in ("best", "final"):
        assert {"config.json", "model.safetensors", "processor_config.json"} <= {
            p.name for p in (tmp_path / "straight" / folder).iterdir()}


def test_on_the_fly_rendering_resumes_exactly_and_jitters_the_cameras(data_root, cache_dir, tmp_path):
    settings = dict(render_on_the_fly=True, camera_jitter=[8.0, 4.0, 4.0])
    straight = train(_config(data_root, cache_dir, tmp_path / "straight", **settings))
    train(_config(data_root, cache_dir, tmp_path / "resumed", stop_after_steps=4, **settings))
    resumed = train(_config(data_root, cache_dir, tmp_path / "resumed", **settings))
    assert straight["steps"] == resumed["steps"] == 6
    expected, got = _weights(tmp_path / "straight" / "final"), _weights(tmp_path / "resumed" / "final")
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    train(_config(data_root, cache_dir, tmp_path / "cached"))  # the same run on the cached, unjittered views
    cached = _weights(tmp_path / "cached" / "final")
    assert any(not torch.equal(cached[name], expected[name]) for name in cached)  # other pictures, other steps


def test_on_the_fly_training_reads_and_fits_each_face_once(data_root, cache_dir, tmp_path, monkeypatch):
    from affectvlm.training import on_the_fly
    from affectvlm.training.preparation import prepare_data
    from affectvlm.training.trainer import make_accelerator

    config = _config(data_root, cache_dir, tmp_path / "run", render_on_the_fly=True)
    _, processor = model_for(config)
    faces = prepare_data(config, processor, make_accelerator(config)).train
    reads = []

    def counted_load_sample(sample, limits):
        reads.append(sample.key)
        return load_sample(sample, limits)

    monkeypatch.setattr(on_the_fly, "load_sample", counted_load_sample)
    first = [faces[index]["prepared_face"] for index in (0, 1, 0)]
    faces.set_epoch(1)
    again = faces[1]["prepared_face"]
    assert reads == [faces.samples[0].key, faces.samples[1].key] and first[0] is first[2] and again is first[1]
    expected = prepare_face(load_sample(faces.samples[1], processor.mesh_limits)[0], processor.render_settings.alignment)
    assert np.array_equal(again.vertices, expected.vertices) and np.array_equal(again.faces, expected.faces)


def test_training_on_a_gpu_asks_for_deterministic_kernels_and_on_a_cpu_leaves_them(monkeypatch):
    """Exact resume on a GPU needs deterministic cuDNN, cuBLAS and atomics; the flags are process-wide, so the
    CPU path must not touch them (checked without a GPU: setting them needs none)."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # restored (to absent, here) after the test
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
              torch.backends.cudnn.benchmark)
    try:
        use_deterministic_gpu_kernels(torch.device("cpu"))
        assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
                torch.backends.cudnn.benchmark) == before and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
        use_deterministic_gpu_kernels(torch.device("cuda", 0))
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1:]


def test_two_processes_train_one_model_on_the_global_batch(data_root, cache_dir, tmp_path):
    output = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(ROOT / "scripts" / "train.py"), "--data-dir", str(data_root), "--cache-dir", str(cache_dir),
        "--output-dir", str(output), "--model-preset", "tiny", "--labels", "anger,happiness,surprise",
        "--folds", "4", "--batch-size", "3", "--max-steps", "3", "--warmup-steps", "1", "--log-every", "1",
        "--render-workers", "0", "--cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads((output / "training_summary.json").read_text())
    assert summary["world_size"] == 2  # not two independent single-process jobs
    checksums = summary["rank_parameter_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    steps = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    trained = [record for record in steps if "loss" in record]
    assert trained and all(r["world_size"] == 2 and r["global_batch"] == 6 for r in trained)


def _faces(data_root: Path, cache_dir: Path, labels=("anger", "happiness", "surprise"), **settings) -> FoldFaces:
    """The tiny runs' faces as scripts/evaluate.py names them (4 folds of the 8 synthetic subjects)."""
    return FoldFaces(data_dir=str(data_root), layout="bu3dfe", cache_dir=str(cache_dir),
                     protocol_overrides={"folds": 4, "labels": tuple(labels)}, **settings)


def test_evaluate_scores_folds_and_zero_shot_prompts(data_root, cache_dir, tmp_path, caplog):
    train(_config(data_root, cache_dir, tmp_path / "run", max_steps=3, eval_every=3, checkpoint_every=3))
    results = evaluate_folds(str(tmp_path / "run" / "best"), [0, 1], _faces(data_root, cache_dir),
                             EvaluationSettings(output_dir=tmp_path / "eval", synthetic=True, command="test"))
    assert [fold["fold"] for fold in results["folds"]] == [0, 1]
    assert all(fold["num_samples"] == 6 for fold in results["folds"])
    assert sum(map(sum, results["folds"][0]["confusion_matrix"])) == 6
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert saved["summary"]["accuracy"]["mean"] == pytest.approx(
        sum(f["accuracy"] for f in saved["folds"]) / 2) and saved["dataset"]["synthetic"] is True
    assert saved["task"] == "3d" and saved["command"] == "test" and saved["zero_shot"] is False
    assert {"confusion_fold0.png", "confusion_fold1.png", "confusion_all_folds.png"} <= {
        path.name for path in (tmp_path / "eval").iterdir()}

    prompts = {"happiness": ["a joyful face.", "someone beaming."], "surprise": ["a shocked face.", "open-mouthed astonishment."]}
    zero_shot = evaluate_folds(str(tmp_path / "run" / "best"), [0], _faces(data_root, cache_dir, prompts),
                               EvaluationSettings(class_prompts=prompts))
    assert zero_shot["zero_shot"] is True and zero_shot["labels"] == ["happiness", "surprise"]
    assert zero_shot["folds"][0]["num_samples"] == 4
    with pytest.raises(ValueError, match="part must be"):
        evaluate_folds(str(tmp_path / "run" / "best"), [0], _faces(data_root, cache_dir, part="train"))

    # a protocol narrower than the model: only its classes' faces are scored, and the log says which are not
    with caplog.at_level("WARNING", logger="affectvlm.evaluation.evaluate"):
        narrower = evaluate_folds(str(tmp_path / "run" / "best"), [0], _faces(data_root, cache_dir, ("anger", "happiness")))
    assert narrower["folds"][0]["num_samples"] == 4
    assert "also predicts surprise" in caplog.text and "--labels" in caplog.text
    with pytest.raises(ValueError, match=r"no face is labelled 'hapiness'.*anger"):  # a typo is not an empty class
        evaluate_folds(str(tmp_path / "run" / "best"), [0], _faces(data_root, cache_dir, ("anger", "hapiness")))


@pytest.mark.parametrize("loss_weights", [{"contrastive": 1.0, "triplet": 1.0}, {"infonce": 1.0}],
                         ids=["centroid-scored (paper losses)", "prompt-scored"])
def test_the_trainer_and_evaluate_score_a_saved_model_alike(data_root, cache_dir, tmp_path, loss_weights):
    """The accuracy a run reports is the accuracy of the model it saves, as scripts/evaluate.py scores it on
    the same split's faces: the one scorer, centroids included."""
    run = tmp_path / "run"
    summary = train(_config(data_root, cache_dir, run, max_steps=3, eval_every=1, checkpoint_every=3,
                            loss_weights=loss_weights))
    scorer = json.loads((run / "best" / "config.json").read_text())["class_scorer"]
    assert scorer == ("centroids" if "infonce" not in loss_weights else "prompts")
    evaluations = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
                   if "validation/accuracy" in r]
    assert [r["step"] for r in evaluations] == [1, 2, 3]
    at_best = next(r for r in evaluations if r["step"] == summary["best_step"])
    assert at_best["validation/accuracy"] == summary["best_validation_accuracy"] == max(
        r["validation/accuracy"] for r in evaluations)

    validation = evaluate_folds(str(run / "best"), [0], _faces(data_root, cache_dir, part="validation"))["folds"][0]
    assert validation["num_samples"] == 6  # the run's fold 0 validation subjects, not its test subjects
    assert validation["accuracy"] == summary["best_validation_accuracy"]
    assert validation["macro_f1"] == pytest.approx(at_best["validation/macro_f1"])
    test = evaluate_folds(str(run / "best"), [0], _faces(data_root, cache_dir))["folds"][0]
    trainer_test = json.loads((run / "test_results.json").read_text())["folds"][0]
    assert test["confusion_matrix"] == trainer_test["confusion_matrix"]
    assert test["accuracy"] == summary["test"]["accuracy"]


def test_zero_shot_with_the_models_own_prompts_scores_as_the_model_does(data_root, cache_dir, tmp_path):
    """Class prompts go through the same forward as the model's own classes: given its own prompt ensemble
    (labels x templates), evaluation predicts exactly what the model's stored prompts predict."""
    train(_config(data_root, cache_dir, tmp_path / "run", max_steps=2, eval_every=2, checkpoint_every=2))
    best = tmp_path / "run" / "best"
    templates = json.loads((best / "config.json").read_text())["class_prompt_templates"]
    labels = ["anger", "happiness", "surprise"]
    own_prompts = {label: class_prompts([label], templates) for label in labels}
    own = evaluate_folds(str(best), [0], _faces(data_root, cache_dir))
    zero_shot = evaluate_folds(str(best), [0], _faces(data_root, cache_dir), EvaluationSettings(class_prompts=own_prompts))
    assert zero_shot["zero_shot"] and zero_shot["folds"][0]["confusion_matrix"] == own["folds"][0]["confusion_matrix"]
    rotated = {label: own_prompts[labels[(index + 1) % 3]] for index, label in enumerate(labels)}
    moved = evaluate_folds(str(best), [0], _faces(data_root, cache_dir), EvaluationSettings(class_prompts=rotated))
    confusion, moved_confusion = own["folds"][0]["confusion_matrix"], moved["folds"][0]["confusion_matrix"]
    assert [row[1:] + row[:1] for row in confusion] == moved_confusion  # the prompts decide the class


def test_ablations_over_seeds_write_a_table_and_a_convergence_plot(data_root, cache_dir, tmp_path):
    base = _config(data_root, cache_dir, tmp_path, max_steps=2, eval_every=1, checkpoint_every=2, target_accuracy=0.0)
    rows = run_ablations(base, tmp_path / "ablations", ["L_mc + L_mt (paper)", "1 view (frontal)"], seeds=[0, 1])
    assert [row["variant"] for row in rows] == ["L_mc + L_mt (paper)", "1 view (frontal)"]
    assert rows[0]["classifier"].startswith("class centroids") and rows[1]["classifier"] == "class prompts"
    assert all(row["steps_to_target"] == 1 and row["reached_target"] == 2 for row in rows)  # a target of 0: step 1
    paper = rows[0]
    accuracies = [run["test_accuracy"] for run in paper["runs"]]
    assert [run["seed"] for run in paper["runs"]] == [0, 1]
    assert paper["test_accuracy"] == pytest.approx(sum(accuracies) / 2)
    assert paper["test_accuracy_std"] == pytest.approx(abs(accuracies[0] - accuracies[1]) / 2 ** 0.5)
    seeds_weights = [_weights(tmp_path / "ablations" / "l-mc-l-mt-paper" / f"seed-{seed}" / "final") for seed in (0, 1)]
    assert not torch.equal(seeds_weights[0]["visual_projection.weight"],
                           seeds_weights[1]["visual_projection.weight"])  # the seeds really differ
    table = (tmp_path / "ablations" / "ablations.md").read_text()
    assert "| L_mc + L_mt (paper) | 2 |" in table and "± " in table
    assert (tmp_path / "ablations" / "convergence.png").exists()


def test_command_line_and_config_file_make_one_config(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("batch_size: 12\nlearning_rate: 0.002\nloss_weights: {contrastive: 1.0}\n")
    config = config_from_args(["--config", str(recipe), "--data-dir", "d", "--learning-rate", "0.003",
                               "--augment-prompts", "off", "--clip", "clip-folder"])
    assert (config.batch_size, config.learning_rate, config.augment_prompts) == (12, 0.003, False)
    assert config.loss_weights == {"contrastive": 1.0} and config.model_preset is None
    recipe.write_text("batch_sise: 12\n")
    with pytest.raises(ValueError, match="unknown settings"):
        config_from_args(["--config", str(recipe), "--data-dir", "d"])
    with pytest.raises(SystemExit):
        config_from_args(["--data-dir", "d", "--loss-weights", "hinge=1"])
    with pytest.raises(ValueError, match="positive weight"):
        TrainConfig(data_dir="d", loss_weights={"contrastive": 0.0})


def test_bf16_autocast_and_gradient_accumulation_run_and_count_optimizer_steps(data_root, cache_dir, tmp_path):
    config = _config(data_root, cache_dir, tmp_path / "bf16", mixed_precision="bf16", gradient_accumulation_steps=2,
                     max_steps=2, eval_every=2, checkpoint_every=2)
    summary = train(config)
    assert summary["steps"] == 2 and summary["batch_size"] == 12  # 6 per micro-batch x 2 micro-batches
    records = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records if "loss" in r)


def _copy_with_a_broken_file(data_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    shutil.copytree(data_root, data)
    broken = sorted(data.rglob("*_F3D.wrl"))[0]
    broken.write_text("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0 ] }\n")
    return data, broken


def _fails_in_one_line_naming(broken: Path, command: list[str], cwd: Path) -> None:
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 2, result.stderr[-2000:]
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: ") and broken.name in last_line and "Traceback" not in result.stderr


def test_the_train_command_names_a_broken_file_without_a_traceback(data_root, tmp_path):
    data, broken = _copy_with_a_broken_file(data_root, tmp_path)
    _fails_in_one_line_naming(broken, [
        str(ROOT / "scripts" / "train.py"), "--data-dir", str(data), "--cache-dir", str(tmp_path / "cache"),
        "--output-dir", str(tmp_path / "run"), "--model-preset", "tiny", "--labels", "anger,happiness,surprise",
        "--folds", "4", "--max-steps", "1", "--render-workers", "0", "--cpu"], tmp_path)


def test_the_evaluate_command_names_a_broken_file_without_a_traceback(data_root, tiny, tmp_path):
    data, broken = _copy_with_a_broken_file(data_root, tmp_path)
    model, processor = tiny
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    _fails_in_one_line_naming(broken, [
        str(ROOT / "scripts" / "evaluate.py"), "--model", str(tmp_path / "model"), "--data-dir", str(data),
        "--cache-dir", str(tmp_path / "cache"), "--num-folds", "4", "--out", str(tmp_path / "eval")], tmp_path)
