"""Any other face data: mesh files listed in a manifest, `manifest.csv` or `manifest.json` in the root folder.

CSV: one row per sample with the columns `path` and `subject` (required), `label` (an emotion name, or empty
for unlabelled data), `metadata` (optional, a JSON object), and any other columns, which become metadata too
(numbers in them become int or float). JSON: a list of objects with the same keys, where `path` may also be a
list (the frames of a 4D sequence) and `metadata` an object.

A `path` is relative to the manifest's folder (or absolute) and names a mesh file in any format `load_mesh`
reads, or a folder, which is then a 4D sequence of the mesh files in it (in frame-number order where the names
are numbers, else by name). Metadata `landmarks_file` / `texture_file` (and `landmarks_files` for sequences)
are resolved the same way; landmark files are `.bnd` or `.lm3`.
A missing file, an unknown label or a malformed row is reported with the manifest row; a manifest without the
required columns stops the scan.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..model.meshes_affectvlm import MESH_READERS
from .emotions import EMOTIONS_WITH_NEUTRAL
from .samples import DatasetReadError, FaceSample, ReadProblems

MANIFEST_NAMES = ("manifest.csv", "manifest.json")
REQUIRED_COLUMNS = ("path", "subject")
PATH_KEYS = ("landmarks_file", "texture_file")
_PATH_LIST_KEYS = ("landmarks_files", "texture_files")
_INTEGER = re.compile(r"-?\d+")


def _cell_value(text: str) -> Any:
    """A CSV cell as int or float when it holds a number, else the text."""
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _csv_rows(manifest: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV manifest, streamed; the `metadata` column decoded from JSON."""
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise DatasetReadError(f"{manifest}: lacks the column(s) {missing}; it has {reader.fieldnames}")
        for row in reader:
            entry: dict[str, Any] = {key: row.get(key) for key in ("path", "subject", "label")}
            extra = {key: _cell_value(value) for key, value in row.items()
                     if key not in ("path", "subject", "label", "metadata") and key and value}
            text = (row.get("metadata") or "").strip()
            try:
                metadata = json.loads(text) if text else {}
            except ValueError:
                metadata = text  # reported with its row by _sample
            entry["metadata"] = {**extra, **metadata} if isinstance(metadata, dict) else metadata
            yield entry


def _json_rows(manifest: Path) -> list[dict[str, Any]]:
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except ValueError as err:
        raise DatasetReadError(f"{manifest}: not valid JSON ({err})") from err
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise DatasetReadError(f"{manifest}: must hold a list of objects, one per sample")
    for number, entry in enumerate(entries, start=1):
        missing = [key for key in REQUIRED_COLUMNS if key not in entry]
        if missing:
            raise DatasetReadError(f"{manifest}: entry {number} lacks {missing}")
    return [{**entry, "metadata": {**{key: value for key, value in entry.items()
                                      if key not in ("path", "subject", "label", "metadata")},
                                   **(entry.get("metadata") or {})}} for entry in entries]


def _frames(folder: Path) -> list[Path]:
    """The mesh files of a sequence folder in frame order."""
    files = [path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in MESH_READERS]
    return sorted(files, key=lambda path: (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.name))


def _sample(entry: dict[str, Any], base: Path, where: str) -> tuple[FaceSample | None, str | None]:
    """(sample, None) for a manifest entry, or (None, "<path>: <problem>")."""
    paths = entry.get("path")
    paths = [paths] if isinstance(paths, str) else paths
    if not paths or not all(isinstance(path, str) and path.strip() for path in paths):
        return None, f"{where}: no path"
    if not isinstance(entry["metadata"], Mapping):
        return None, f"{where}: metadata {str(entry['metadata'])[:60]!r} is not a JSON object"
    label = entry.get("label")
    if isinstance(label, str):
        label = label.strip().lower() or None
    if label is not None and label not in EMOTIONS_WITH_NEUTRAL:
        return None, f"{where}: unknown label {label!r}; expected one of {', '.join(EMOTIONS_WITH_NEUTRAL)} or empty"
    subject = str(entry.get("subject") or "").strip()
    if not subject:
        return None, f"{where}: no subject"
    files: list[Path] = []
    for path in (base / path.strip() for path in paths):
        if path.is_dir():
            frames = _frames(path)
            if not frames:
                return None, f"{path}: folder holds no mesh files ({where})"
            files.extend(frames)
        elif not path.is_file():
            return None, f"{path}: file not found ({where})"
        else:
            files.append(path)
    metadata = dict(entry["metadata"])
    for key in PATH_KEYS:
        if isinstance(metadata.get(key), str):
            metadata[key] = str(base / metadata[key])
    for key in _PATH_LIST_KEYS:
        if isinstance(metadata.get(key), list):
            metadata[key] = [None if name is None else str(base / name) for name in metadata[key]]
    for name in [metadata.get("landmarks_file"), *(metadata.get("landmarks_files") or [])]:
        if name is not None and not Path(name).is_file():
            return None, f"{name}: landmark file not found ({where})"
    return FaceSample(files=tuple(map(str, files)), label=label, subject=subject, metadata=metadata), None


def find_manifest(root: Path, manifest: str | Path | None) -> Path:
    """The manifest to read: the given one (relative to `root`), else manifest.csv or manifest.json in `root`."""
    candidates = [root / manifest] if manifest is not None else [root / name for name in MANIFEST_NAMES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DatasetReadError(f"{candidates[0] if manifest else root}: no manifest ({' or '.join(MANIFEST_NAMES)})")


def scan(root: Path, problems: ReadProblems, manifest: str | Path | None = None) -> Iterator[FaceSample]:
    """The manifest's samples in its order; its paths are checked to exist, no mesh is opened."""
    path = find_manifest(root, manifest)
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _json_rows(path)
    for number, entry in enumerate(rows, start=1):
        sample, problem = _sample(entry, path.parent, f"{path.name} row {number}")
        if problem is not None:
            problems.report(problem)
        else:
            yield sample
