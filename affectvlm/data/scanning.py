"""What several dataset scanners share: Binghamton-style gendered subject folders and numbered frame files
with companions (texture, landmarks) beside them."""

from __future__ import annotations

import re
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


def match_name(pattern: re.Pattern, path: Path, expected: str, problems: ReadProblems) -> re.Match | None:
    """The fields of a dataset file's name, or None (reported, with what the name should look like)."""
    match = pattern.fullmatch(path.stem)
    if match is None:
        problems.report(f"{path}: name does not follow {expected}")
    return match


def scan_companions(path: Path, landmark_suffix: str, texture_suffix: str, require_landmarks: bool,
                    problems: ReadProblems) -> dict[str, str] | None:
    """`landmarks_file` and `texture_file` metadata for a single-scan file, from the files beside it with its
    stem; None (reported) when landmarks are required and missing."""
    found = {}
    landmarks, texture = path.with_suffix(landmark_suffix), path.with_suffix(texture_suffix)
    if landmarks.is_file():
        found["landmarks_file"] = str(landmarks)
    elif require_landmarks:
        problems.report(f"{landmarks}: landmark file missing (for {path.name})")
        return None
    if texture.is_file():
        found["texture_file"] = str(texture)
    return found


def companion(path: Path, suffixes: Sequence[str]) -> str | None:
    """The first existing file with `path`'s stem and one of `suffixes`, as a string."""
    for suffix in suffixes:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return str(candidate)
    return None
