"""A real kill: a training run in its own process is SIGKILLed at random moments, once in the middle of writing a
checkpoint, resumed by running the same command again each time, and ends bit-identical to a run never killed."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from affectvlm.synthetic import DatasetRequest, SyntheticRequest, write_synthetic_dataset

ROOT = Path(__file__).resolve().parents[1]
STEPS = 6
RANDOM_KILLS = 2
RUN_TIMEOUT_S = 300


def _command(data: Path, cache: Path, output: Path) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "train.py"), "--data-dir", str(data), "--cache-dir", str(cache),
            "--output-dir", str(output), "--model-preset", "tiny", "--labels", "anger,happiness,surprise",
            "--folds", "4", "--batch-size", "6", "--max-steps", str(STEPS), "--warmup-steps", "2",
            "--eval-every", "3", "--checkpoint-every", "1", "--log-every", "1", "--render-workers", "0", "--cpu"]


def _start(command: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, cwd=log.parent)


def _kill_during_save(command: list[str], checkpoints: Path, log: Path) -> bool:
    """Start the run and SIGKILL it as soon as a checkpoint's staging folder appears (a save in progress).
    False when the run ended before any save could be caught."""
    process = _start(command, log)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        if checkpoints.is_dir() and any(path.name.startswith(".staging-") for path in checkpoints.iterdir()):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            return True
        time.sleep(0.002)
    process.wait(timeout=RUN_TIMEOUT_S)
    return False


def _kill_after(command: list[str], seconds: float, log: Path) -> None:
    process = _start(command, log)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)


def _finish(command: list[str], log: Path) -> None:
    process = _start(command, log)
    assert process.wait(timeout=RUN_TIMEOUT_S) == 0, log.read_text()[-4000:]


def test_a_run_killed_at_random_moments_and_resumed_ends_bit_identical(tmp_path):
    data, cache = tmp_path / "bu3dfe", tmp_path / "cache"
    write_synthetic_dataset(DatasetRequest(data, "bu3dfe", 8, SyntheticRequest(
        emotions=("anger", "happiness", "surprise"), intensities=(4,), texture_size=16)))
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    started = time.monotonic()
    _finish(_command(data, cache, straight), tmp_path / "straight.log")  # also renders the shared cache
    duration = time.monotonic() - started

    command, log = _command(data, cache, killed), tmp_path / "killed.log"
    assert _kill_during_save(command, killed / "checkpoints", log), "no checkpoint save was caught"
    moments = random.Random(13)
    for _ in range(RANDOM_KILLS):
        _kill_after(command, moments.uniform(0.3, 1.0) * duration, log)
    _finish(command, log)

    expected, resumed = load_file(str(straight / "final" / "model.safetensors")), load_file(
        str(killed / "final" / "model.safetensors"))
    assert expected.keys() == resumed.keys()
    assert [name for name in expected if not torch.equal(expected[name], resumed[name])] == []
    assert log.read_text().count("resumed from") >= 1
