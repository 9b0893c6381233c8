"""What several dataset scanners share: Binghamton-style gendered subject folders and numbered frame files
with companions (texture, landmarks) beside them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .samples import ReadProblems

GENDER_OF_LETTER = {"F": "female", "M": "male"}  # the first letter of a Binghamton subject id (F001, M0001)
TEXTURE_SUFFIXES = (".jpg", ".bmp", ".png")


def frame_files(folder: Path, suffix: str, problems: ReadProblems) -> list[Path]:
    """The frames (files with `suffix` and a numeric name) of a sequence folder in frame order; a frame with
    another name or an empty file is reported and left out."""
    frames = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix and p.is_file()):
        if not path.stem.isdigit():
            problems.report(f"{path}: frame name is not a frame number")
        elif path.stat().st_size == 0:
            problems.report(f"{path}: file is empty")
        else:
            frames.append(path)
    return sorted(frames, key=lambda path: int(path.stem))


def companion(path: Path, suffixes: Sequence[str]) -> str | None:
    """The first existing file with `path`'s stem and one of `suffixes`, as a string."""
    for suffix in suffixes:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return str(candidate)
    return None
