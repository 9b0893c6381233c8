"""One training run's shared state, handed to the loop, the validation and the summary instead of long
parameter lists; and the two things they all do with it: log a record, save a model folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checkpoints import TrainingProgress
from .config import TrainConfig
from .metrics_log import MetricsLog


@dataclass
class Run:
    accelerator: Any
    model: Any  # as prepared by the accelerator (unwrap it to save)
    processor: Any
    config: TrainConfig
    output: Path
    progress: TrainingProgress
    metrics_log: MetricsLog
    logger: Any

    @property
    def labels(self) -> list[str]:
        return list(self.processor.emotion_labels)

    def log(self, record: dict[str, Any]) -> None:
        """One record (with its "step") into metrics.jsonl and the trackers."""
        self.metrics_log.write(record)
        self.accelerator.log({k: v for k, v in record.items() if k != "step"}, step=self.progress.step)

    def save_model(self, folder: Path) -> None:
        """save_pretrained (safetensors) of model and processor, on the main process; written beside, then renamed."""
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            staging = folder.with_name(f".staging-{folder.name}")
            shutil.rmtree(staging, ignore_errors=True)
            self.accelerator.unwrap_model(self.model).save_pretrained(staging, safe_serialization=True)
            self.processor.save_pretrained(staging)
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
        self.accelerator.wait_for_everyone()
