"""Unpack an uploaded .zip of mesh frames: nothing may land outside the request's folder (absolute names, `..`,
symbolic links) and nothing may expand without bound (zip bombs). Every entry's name, type and declared size is
checked before a single byte is written, and no entry unpacks to more than it declares. Every refusal is an
InputError naming the archive, the entry and the reason."""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from ..model.sequences_affectvlm import natural_key
from .limits import DemoLimits, InputError, megabytes

# Entries below this size may compress extremely well (a blank text file) without threatening anything.
_RATIO_EXEMPT_BYTES = 1024 * 1024
_CHUNK_BYTES = 1024 * 1024


def _parts(info: zipfile.ZipInfo, archive: str) -> tuple[str, ...]:
    """The entry's path parts, or an InputError if the entry could land outside the destination."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise InputError(f"{archive}: entry {info.filename!r} has an absolute path; refused")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise InputError(f"{archive}: entry {info.filename!r} points outside the archive ('..'); refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InputError(f"{archive}: entry {info.filename!r} is a symbolic link; refused")
    if info.flag_bits & 0x1:
        raise InputError(f"{archive}: entry {info.filename!r} is encrypted; upload an unencrypted .zip")
    return parts


def _is_metadata(parts: tuple[str, ...]) -> bool:
    """Hidden files and macOS resource forks (__MACOSX/._frame.ply), which zip tools add without asking."""
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _check_sizes(entries: list[zipfile.ZipInfo], archive: str, limits: DemoLimits) -> None:
    total = sum(info.file_size for info in entries)
    if total > limits.max_archive_bytes:
        raise InputError(
            f"{archive}: unpacks to {megabytes(total)}, over the limit of {megabytes(limits.max_archive_bytes)}"
        )
    for info in entries:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_EXEMPT_BYTES and ratio > limits.max_compression_ratio:
            raise InputError(
                f"{archive}: entry {info.filename!r} is compressed {ratio:.0f}:1, over the limit of "
                f"{limits.max_compression_ratio:.0f}:1 (a zip bomb?); refused"
            )


def _extract(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, archive: str) -> None:
    """Copy one entry. zipfile stops at the size the header declares (a lying header then fails its CRC check,
    a BadZipFile), so the size checks above bound what lands on disk."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with bundle.open(info) as source, target.open("xb") as sink:
            shutil.copyfileobj(source, sink, _CHUNK_BYTES)
    except FileExistsError:
        raise InputError(f"{archive}: entry {info.filename!r} appears twice; refused") from None


def extract_frames(archive: Path, destination: Path, limits: DemoLimits, mesh_suffixes: Collection[str]) -> list[Path]:
    """Unpack `archive` into `destination` (a fresh folder) and return its mesh frames in natural name order.

    Files other than meshes are unpacked too (an OBJ's .mtl and texture); hidden files are skipped.
    """
    name = archive.name
    try:
        with zipfile.ZipFile(archive) as bundle:
            entries = bundle.infolist()
            if len(entries) > limits.max_archive_entries:
                raise InputError(f"{name}: {len(entries)} entries, over the limit of {limits.max_archive_entries}")
            files = [(info, _parts(info, name)) for info in entries if not info.is_dir()]
            files = [(info, parts) for info, parts in files if not _is_metadata(parts)]
            frames = [parts for _, parts in files if PurePosixPath(*parts).suffix.lower() in mesh_suffixes]
            if not frames:
                raise InputError(f"{name}: holds no mesh frames ({', '.join(sorted(mesh_suffixes))})")
            if len(frames) > limits.max_frames:
                raise InputError(f"{name}: {len(frames)} frames, over the limit of {limits.max_frames}")
            _check_sizes([info for info, _ in files], name, limits)
            for info, parts in files:
                _extract(bundle, info, destination.joinpath(*parts), name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as error:
        raise InputError(f"{name}: not a readable .zip archive ({error})") from None
    return [destination.joinpath(*parts) for parts in sorted(frames, key=lambda parts: natural_key("/".join(parts)))]
