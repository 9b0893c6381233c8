"""The publishing steps in order: load the model, export it, prove the export in a clean process."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from .card import CardInputs
from .export import EXPORT_MARKER, export_model, load_model_and_processor
from .folders import write_marker
from .verify import EXAMPLE_FACE, ExportCheck, check_export

logger = logging.getLogger(__name__)


def export_and_check(
    model_dir: str | Path,
    out: str | Path,
    card: CardInputs,
    mesh: str | Path = EXAMPLE_FACE,
) -> tuple[Path, ExportCheck]:
    """Export the model in `model_dir` to `out` and check it (raises ExportCheckError on any mismatch); the
    check's numbers are kept in the folder's marker file, which is not uploaded."""
    logger.info("loading %s", model_dir)
    model, processor = load_model_and_processor(model_dir)
    folder = export_model(model, processor, out, source=model_dir, card=card)
    check = check_export(model, processor, folder, mesh=mesh)
    write_marker(folder, EXPORT_MARKER, {"source": str(Path(model_dir).resolve()), "model_id": card.model_id,
                                         "check": dataclasses.asdict(check)})
    return folder, check
