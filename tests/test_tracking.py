"""Trackers: `--report-to tensorboard` writes the logged scalars where TensorBoard reads them."""

import json

import pytest

from affectvlm.synthetic import DatasetRequest, SyntheticRequest, write_synthetic_dataset
from affectvlm.training.config import config_from_args
from affectvlm.training.trainer import train

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard comes with the [tracking] extra")


def test_two_steps_with_report_to_tensorboard_write_readable_scalars(tmp_path):
    data = tmp_path / "bu3dfe"
    write_synthetic_dataset(DatasetRequest(data, "bu3dfe", 8, SyntheticRequest(
        emotions=("anger", "happiness", "surprise"), intensities=(4,), texture_size=16)))
    output = tmp_path / "run"
    config = config_from_args([
        "--data-dir", str(data), "--cache-dir", str(tmp_path / "cache"), "--output-dir", str(output),
        "--model-preset", "tiny", "--labels", "anger,happiness,surprise", "--folds", "4", "--batch-size", "6",
        "--max-steps", "2", "--warmup-steps", "1", "--eval-every", "2", "--checkpoint-every", "2",
        "--log-every", "1", "--render-workers", "0", "--cpu", "--report-to", "tensorboard",
    ])
    assert config.report_to == ["tensorboard"]
    train(config)

    event_files = list((output / "logs").rglob("events.out.tfevents.*"))
    assert event_files, f"no TensorBoard event file under {output / 'logs'}"
    scalars = {}
    for event_file in event_files:
        events = event_accumulator.EventAccumulator(str(event_file), size_guidance={"scalars": 0})
        events.Reload()
        scalars.update({tag: events.Scalars(tag) for tag in events.Tags()["scalars"]})
    logged = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    losses = [(record["step"], record["loss"]) for record in logged if "loss" in record]
    assert [step for step, _ in losses] == [1, 2]
    assert [(event.step, event.value) for event in scalars["loss"]] == [
        (step, pytest.approx(loss, rel=1e-6)) for step, loss in losses]  # float32 in the event file
    assert [event.step for event in scalars["lr"]] == [1, 2]
    evaluation = [key for key in scalars if key.endswith("/accuracy")]
    assert evaluation and [event.step for event in scalars[evaluation[0]]] == [2]
    assert any(key.startswith("loss/") for key in scalars)  # each loss term too
