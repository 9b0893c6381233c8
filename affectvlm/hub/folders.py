"""Output folders that this package may empty: only ones it made itself, recognised by a marker file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


class OutputFolderError(RuntimeError):
    """An output folder that must not be written: someone else's files, or the input itself."""


def claim_output_folder(out: str | Path, marker: str, kind: str, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Make `out` an empty folder, emptying it only if it holds a previous `kind` (its `marker` file).

    A non-empty folder without the marker, or one that holds any of `inputs`, is refused: a typo in --out must
    never delete a model, a dataset or a home directory.
    """
    out = Path(out).resolve()
    for source in inputs:
        source = Path(source).resolve()
        if source == out or out in source.parents:
            raise OutputFolderError(f"--out {out} holds the input {source}: choose another output folder")
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / marker).is_file():
            raise OutputFolderError(
                f"refusing to write into {out}: it is not empty and is not a previous {kind} (no {marker} in it);"
                " choose a new or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_marker(out: Path, marker: str, details: dict[str, Any]) -> None:
    """Mark `out` as made here (so a later run may replace it), with what made it."""
    (out / marker).write_text(json.dumps(details, indent=2) + "\n")
