"""`write_synthetic_dataset`: synthetic subjects written in a real dataset's layout, subject by subject (in
worker processes when asked), with a record of every file written so that a later run never clobbers others'."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..data.registry import get_layout
from ..data.samples import FaceSample
from .attributes import subject_attributes
from .output import OutputFolder, open_output, write_record
from .request import DatasetRequest, SyntheticRequest, first_subject_seed, resolved_faces
from .writers import get_writer


@dataclass
class _Written:
    """What the subjects written so far gave: their samples, the files written and any error messages."""

    samples: list[FaceSample] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _write_subject_job(
    layout: str, root: Path, overwritable: frozenset[str], subject: str, seed: int, faces: SyntheticRequest
) -> tuple[list[FaceSample], list[str], str | None]:
    """Write one subject (in a worker or inline): its samples, the files written and any error message."""
    out = OutputFolder(root, overwritable)
    try:
        return get_writer(layout).write_subject(out, subject, seed, faces), out.written, None
    except Exception as err:  # the parent records what was written before it stops
        return [], out.written, f"{subject}: {type(err).__name__}: {err}"


def _write_subjects(request: DatasetRequest, out: OutputFolder, faces: SyntheticRequest, written: _Written,
                    on_subject_done: Callable[[str], None] | None) -> None:
    """Write every subject of the request, in order, inline or in `request.workers` processes, adding what
    each gave to `written` as it finishes (so that an interruption still leaves a true record)."""
    first = first_subject_seed(request, get_layout(request.layout))
    seeds = [first + number for number in range(request.subjects)]
    ids = get_writer(request.layout).subject_ids([subject_attributes(seed)["gender"] for seed in seeds])
    job = partial(_write_subject_job, request.layout, out.root, out.overwritable, faces=faces)
    pool = ProcessPoolExecutor(max_workers=request.workers) if request.workers > 1 else None
    try:
        results: Iterable = pool.map(job, ids, seeds) if pool else map(job, ids, seeds)
        for subject, (samples, files, error) in zip(ids, results):
            written.samples += samples
            written.files += files
            written.errors += [error] if error else []
            if on_subject_done is not None:
                on_subject_done(subject)
    finally:
        if pool is not None:
            pool.shutdown()


def write_synthetic_dataset(request: DatasetRequest, on_subject_done: Callable[[str], None] | None = None
                            ) -> list[FaceSample]:
    """Write the requested synthetic dataset and return its samples, as a scan would index them.

    The files written are recorded in the folder even when a subject fails (a RuntimeError naming the first
    failure, raised after the others were written); `on_subject_done(subject id)` reports progress.
    """
    writer = get_writer(request.layout)
    faces = resolved_faces(get_layout(request.layout), request.faces, writer.random_recipes)
    out = open_output(request.root, request.overwrite)
    written = _Written()
    try:
        _write_subjects(request, out, faces, written, on_subject_done)
        if writer.write_index is not None and not written.errors:
            index = OutputFolder(out.root, out.overwritable)
            writer.write_index(index, written.samples)
            written.files += index.written
    finally:
        out.root.mkdir(parents=True, exist_ok=True)
        write_record(out.root, request.layout, written.files, request.command)
    if written.errors:
        raise RuntimeError(f"writing {len(written.errors)} subject(s) failed; first: {written.errors[0]}")
    return written.samples
