"""The publishing steps in order: load the model, export it, prove the export in a clean process."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .export import EXPORT_MARKER, export_model, load_model_and_processor
from .folders import write_marker
from .verify import EXAMPLE_FACE, ExportCheck, check_export

logger = logging.getLogger(__name__)


def export_and_check(
    model_dir: str | Path,
    out: str | Path,
    *,
    model_id: str,
    model_name: str | None = None,
    results: Sequence[dict[str, Any]] = (),
    training_summary: dict[str, Any] | None = None,
    mesh: str | Path = EXAMPLE_FACE,
    card_dir: str | Path | None = None,
) -> tuple[Path, ExportCheck]:
    """Export the model in `model_dir` to `out` and check it (raises ExportCheckError on any mismatch); the
    check's numbers are kept in the folder's marker file, which is not uploaded."""
    logger.info("loading %s", model_dir)
    model, processor = load_model_and_processor(model_dir)
    folder = export_model(model, processor, out, source=model_dir, model_id=model_id, model_name=model_name,
                          results=results, training_summary=training_summary, card_dir=card_dir)
    check = check_export(model, processor, folder, mesh=mesh)
    write_marker(folder, EXPORT_MARKER, {"source": str(Path(model_dir).resolve()), "model_id": model_id,
                                         "check": dataclasses.asdict(check)})
    return folder, check
