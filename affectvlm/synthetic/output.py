"""A folder that a synthetic-data writer fills without ever clobbering files it did not write itself.

The files written are recorded in RECORD_NAME inside the folder; a later run with `overwrite=True` may replace
those, never anything else, and nothing is ever deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

RECORD_NAME = ".affectvlm_synthetic.json"


class OutputFolder:
    """Hands out paths to write under `root`, refusing any that exists but is not in the earlier record."""

    def __init__(self, root: str | Path, overwritable: Iterable[str] = ()) -> None:
        self.root = Path(root)
        self.overwritable = frozenset(overwritable)
        self.written: list[str] = []

    def path(self, relative: str) -> Path:
        """The path for `relative` (its folders created), recorded as written by us."""
        target = self.root / relative
        if target.exists() and relative not in self.overwritable and relative not in self.written:
            raise FileExistsError(f"{target}: exists and was not written by this tool; refusing to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(relative)
        return target


def open_output(root: str | Path, overwrite: bool) -> OutputFolder:
    """An OutputFolder for `root`: an empty or new folder, or with `overwrite` one holding an earlier run's files."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root}: is not a folder")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise FileExistsError(f"{root}: folder is not empty; choose an empty one or allow overwriting")
    return OutputFolder(root, read_record(root))


def read_record(root: Path) -> list[str]:
    """The files an earlier run recorded as its own (none when there is no readable record)."""
    record = root / RECORD_NAME
    try:
        files = json.loads(record.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [str(name) for name in files]


def write_record(root: Path, layout: str, files: Iterable[str], command: str | None = None) -> None:
    """Record `files` (with the earlier record's) as written by this tool, and the command that wrote them
    (so that a model trained on the data can say how to make it again)."""
    names = sorted(set(read_record(root)) | set(files))
    record = {"layout": layout, "files": names, **({"command": command} if command else {})}
    (root / RECORD_NAME).write_text(json.dumps(record, indent=1), encoding="utf-8")


def is_synthetic(root: str | Path) -> bool:
    """Whether `root` was written by `write_synthetic_dataset` (it keeps a record of its files there)."""
    return (Path(root) / RECORD_NAME).is_file()


def synthetic_command(root: str | Path) -> str | None:
    """The command that wrote the synthetic dataset at `root`, when its record has one."""
    if not is_synthetic(root):
        return None
    return json.loads((Path(root) / RECORD_NAME).read_text(encoding="utf-8")).get("command")
