"""Resumable checkpoints that a kill can never leave broken.

`accelerator.save_state` writes into a hidden staging folder; only when it is complete is the folder
renamed to `step-NNNNNNN` and the `latest` pointer replaced (both atomic renames on one file system).
A run killed mid-save resumes from the previous complete checkpoint; stale staging folders are removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

LATEST = "latest"
_STAGING_PREFIX = ".staging-"


class TrainingProgress:
    """Where a run stands; registered with accelerate so that save_state/load_state carry it."""

    def __init__(self) -> None:
        self.step = 0  # optimizer steps done
        self.epoch = 0
        self.batches_in_epoch = 0  # micro-batches of the current epoch already consumed
        self.best_accuracy = -1.0
        self.best_step = 0
        self.steps_to_target: int | None = None

    def state_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(f"{_STAGING_PREFIX}{path.name}")
    staging.write_text(text)
    os.replace(staging, path)


def save_checkpoint(accelerator: Any, checkpoints_dir: Path, step: int, keep: int) -> Path:
    """Save the full training state for `step`; all processes must call this."""
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoints_dir / f"step-{step:07d}"
    staging = checkpoints_dir / f"{_STAGING_PREFIX}{final.name}"
    if accelerator.is_main_process and staging.exists():
        shutil.rmtree(staging)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(staging))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        _write_atomically(checkpoints_dir / LATEST, final.name)
        _prune(checkpoints_dir, keep)
    accelerator.wait_for_everyone()
    return final


def _prune(checkpoints_dir: Path, keep: int) -> None:
    """Drop older complete checkpoints beyond `keep`, and any staging folder a kill left behind."""
    for stale in checkpoints_dir.glob(f"{_STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    steps = sorted(path for path in checkpoints_dir.glob("step-*") if path.is_dir())
    for old in steps[: max(len(steps) - max(keep, 1), 0)]:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(checkpoints_dir: Path) -> Path | None:
    """The checkpoint named by `latest`, or None when the run has none yet."""
    pointer = checkpoints_dir / LATEST
    if not pointer.exists():
        return None
    path = checkpoints_dir / pointer.read_text().strip()
    if not path.is_dir():
        raise FileNotFoundError(f"{pointer}: names {path.name}, which does not exist; remove the pointer to start over")
    return path
