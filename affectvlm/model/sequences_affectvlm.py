"""A 4D sequence on disk: a folder or a .zip of mesh frames, taken in natural name order (frame_2 before
frame_10). One module, so that the pipeline, the command line and the demo order frames alike."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from .meshes_affectvlm import MESH_READERS, MeshFormatError, MeshLimits

# How frames are chosen from a sequence: spread over all of it, or over the half around its apex.
FRAME_SAMPLINGS = ("uniform", "apex")


def natural_key(name: str) -> list:
    """Sort key that orders frame_2 before frame_10 (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)]


def is_sequence_path(path: str | Path) -> bool:
    """Whether a path names a sequence (a folder or a .zip of frames) rather than one mesh file."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() == ".zip"


def folder_frames(folder: Path, suffixes: Collection[str] | None = None) -> list[Path]:
    """The mesh files directly in `folder` (hidden files skipped), in natural name order."""
    suffixes = set(MESH_READERS if suffixes is None else suffixes)
    frames = [path for path in folder.iterdir()
              if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith(".")]
    if not frames:
        raise MeshFormatError(f"{folder}: no mesh frames in it ({' '.join(sorted(suffixes))})")
    return sorted(frames, key=lambda path: natural_key(path.name))


def unpack_frames(archive: Path, destination: Path, limits: MeshLimits = MeshLimits()) -> list[Path]:
    """Unpack a .zip of frames into `destination` and return its mesh frames in natural name order.

    For archives a program reads on its own behalf; the demo, which unpacks strangers' uploads, adds the
    stricter checks of affectvlm.ui.archives. zipfile keeps every entry inside `destination` (it drops
    absolute and `..` parts) and stops at each entry's declared size, which must fit the mesh file limit.
    """
    if not archive.is_file():
        raise MeshFormatError(f"{archive}: file not found")
    try:
        with zipfile.ZipFile(archive) as bundle:
            entries = [info for info in bundle.infolist()
                       if not info.is_dir() and not any(part.startswith(".") or part == "__MACOSX"
                                                        for part in PurePosixPath(info.filename).parts)]
            for info in entries:
                if info.file_size > limits.max_file_bytes:
                    raise MeshFormatError(f"{archive}: entry {info.filename!r} unpacks to {info.file_size} bytes, "
                                          f"over the limit of {limits.max_file_bytes}")
            bundle.extractall(destination, members=entries)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as error:
        raise MeshFormatError(f"{archive}: cannot unpack as a .zip ({type(error).__name__}: {error})") from None
    frames = [path for path in destination.rglob("*")
              if path.is_file() and path.suffix.lower() in MESH_READERS]
    if not frames:
        raise MeshFormatError(f"{archive}: holds no mesh frames ({' '.join(sorted(MESH_READERS))})")
    return sorted(frames, key=lambda path: natural_key(path.relative_to(destination).as_posix()))


__all__ = ["FRAME_SAMPLINGS", "folder_frames", "is_sequence_path", "natural_key", "unpack_frames"]
