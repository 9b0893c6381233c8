"""Reading a dataset: `scan_dataset` streams its FaceSample index through the layout's scanner, and
`load_sample` reads one sample's meshes with their landmarks, whatever its layout."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..io.landmarks import read_landmarks
from ..model.meshes_affectvlm import FaceMesh, MeshFormatError, MeshLimits, load_mesh
from .registry import get_layout
from .samples import DatasetReadError, FaceSample, ReadProblems

logger = logging.getLogger(__name__)

# What a command reports in one line, without a traceback: a face file it cannot read, or a disk it cannot
# write. Each message names the file or folder.
UNREADABLE_INPUT = (MeshFormatError, DatasetReadError, OSError)


def scan_dataset(
    root: str | Path, layout: str, on_error: str | ReadProblems = "raise", **options
) -> Iterator[FaceSample]:
    """Stream the samples of the dataset at `root` laid out as `layout`, in a deterministic order.

    `on_error`: "raise" stops at the first bad file with a DatasetReadError "<path>: <problem>"; "skip" leaves
    it out with a logged warning; or pass a ReadProblems to read the count and messages afterwards.
    `options` go to the layout's scanner (e.g. bosphorus: emotions_only=True; bp4d: task_emotions={...}).
    """
    scanner = get_layout(layout).scan
    root = Path(root)
    if not root.is_dir():
        raise DatasetReadError(f"{root}: dataset folder not found")
    problems = on_error if isinstance(on_error, ReadProblems) else ReadProblems(on_error)
    return _reporting(scanner(root, problems, **options), root, problems)


def _reporting(samples: Iterator[FaceSample], root: Path, problems: ReadProblems) -> Iterator[FaceSample]:
    """Pass the samples on, then log how many files were skipped."""
    yield from samples
    if problems.skipped:
        logger.warning("%s: %s", root, problems.summary())


def _frame_landmarks(sample: FaceSample) -> list[str | None]:
    """The landmark file of each of the sample's meshes (None where it has none)."""
    per_frame = sample.metadata.get("landmarks_files")
    if per_frame is not None:
        if len(per_frame) != len(sample.files):
            raise DatasetReadError(f"{sample.key}: {len(per_frame)} landmark files for {len(sample.files)} frames")
        return list(per_frame)
    return [sample.metadata.get("landmarks_file")] + [None] * (len(sample.files) - 1)


def _landmarks(path: str) -> tuple[np.ndarray, list[str] | None]:
    """A sample's landmark file read; a bad one is a DatasetReadError, as every other dataset file problem."""
    try:
        return read_landmarks(path)
    except MeshFormatError as err:
        raise DatasetReadError(str(err)) from err


def load_sample(sample: FaceSample, limits: MeshLimits = MeshLimits()) -> list[FaceMesh]:
    """The sample's meshes (one for 3D, the frames for 4D), each with its landmarks and with the sample's
    label, subject and metadata merged into its metadata (plus "frame" for sequences).

    Raises MeshFormatError for a mesh and DatasetReadError for a landmark file that cannot be used, naming it.
    """
    meshes = []
    for frame, (path, landmarks_path) in enumerate(zip(sample.files, _frame_landmarks(sample))):
        mesh = load_mesh(path, limits)
        metadata = {**mesh.metadata, **sample.metadata, "subject": sample.subject, "label": sample.label}
        if sample.is_sequence:
            metadata["frame"] = frame
        landmarks = mesh.landmarks
        if landmarks_path is not None:
            points, names = _landmarks(landmarks_path)
            landmarks = points.astype(np.float32)
            if names is not None:
                metadata["landmark_names"] = names
        meshes.append(dataclasses.replace(mesh, landmarks=landmarks, metadata=metadata))
    return meshes
