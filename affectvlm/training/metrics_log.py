"""metrics.jsonl: one JSON record per logged step or evaluation, the run's curves on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class MetricsLog:
    """metrics.jsonl in the run folder (main process only); a resumed run drops entries past its step, so the
    file reads as if the run had never been interrupted."""

    def __init__(self, path: Path, enabled: bool, resume_step: int) -> None:
        self.path, self.enabled = path, enabled
        if enabled and path.exists():
            kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= resume_step]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl (none when the file does not exist)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []
