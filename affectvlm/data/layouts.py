"""The dataset layouts by name: for each, a scanner (folder -> FaceSample index) and a synthetic-data writer;
plus `load_sample`, which reads a sample's meshes with their landmarks, whatever its layout.

    name       kind   layout (see each module for the details)
    bu3dfe     3D     F0001/F0001_HA03WH_F3D.wrl  + _F3D.bmp texture, _F3D.bnd 83 landmarks
    bu4dfe     4D     F001/Happy/000.wrl ...      + per-frame texture and .bnd landmarks
    bosphorus  3D     bs000/bs000_E_HAPPY_0.bnt   + .png 2D image, .lm3 landmarks
    bp4d       4D     F001/T1/0000.obj ...        BP4D-Spontaneous: tasks T1..T8 -> emotions (overridable)
    bp4d+      4D     F001/T1/0000.obj ...        BP4D+: tasks T1..T10 -> emotions (overridable)
    folder     3D/4D  manifest.csv / manifest.json listing path, label, subject, metadata

Scanners only walk folders and parse names (a dataset is never loaded whole) and hand every misnamed, missing
or empty file to a ReadProblems: stop with a DatasetReadError, or skip it counted and warned about.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..io.landmarks import read_landmarks
from ..io.output import RECORD_NAME, OutputFolder, open_output, write_record
from ..model.meshes_affectvlm import FaceMesh, MeshLimits, load_mesh
from . import bosphorus, bp4d, bu3dfe, bu4dfe, folder
from .samples import DatasetReadError, FaceSample, ReadProblems
from .synthetic import DEFAULT_VARIATION, EMOTION_ORDER, INTENSITY_SCALE, Variation, subject_attributes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyntheticRequest:
    """What to synthesise for each subject; layouts without intensity levels write full intensity only."""

    emotions: tuple[str, ...]
    intensities: tuple[int, ...] = (1, 2, 3, 4)
    frames: int = 25
    fps: float = 25.0
    variation: Variation = DEFAULT_VARIATION
    sample_seed: int = 0
    texture_size: int = 256
    grid_spacing: float = bosphorus.DEFAULT_GRID_SPACING  # Bosphorus range grids, millimetres
    # "train" / "heldout": faces_per_emotion faces per subject and emotion, each from a random recipe of that
    # split at a random level (layouts that support it: folder); None: each emotion's prototype per intensity
    recipes: str | None = None
    faces_per_emotion: int = 1


@dataclass(frozen=True)
class Layout:
    """A dataset's folder layout: how to index it and how to write synthetic subjects into it."""

    name: str
    description: str
    scan: Callable[..., Iterator[FaceSample]]  # (root, problems, **options)
    subject_ids: Callable[[Sequence[str]], list[str]]  # genders -> subject ids
    write_subject: Callable[..., list[FaceSample]]  # (out, subject id, subject seed, request)
    emotions: tuple[str, ...]  # the emotions the layout can hold
    sequences: bool  # its writer writes 4D sequences
    write_index: Callable[[OutputFolder, Sequence[FaceSample]], None] | None = None


LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> None:
    """Make a layout available by name to scan_dataset and write_synthetic_dataset."""
    LAYOUTS[layout.name] = layout


def _labels_of(tasks: dict[str, tuple[str | None, str]]) -> tuple[str, ...]:
    """The emotions a task table elicits, in the project's order."""
    return tuple(emotion for emotion in EMOTION_ORDER if any(label == emotion for label, _ in tasks.values()))


_SPONTANEOUS, _PLUS = bp4d.BP4D_SPONTANEOUS_TASKS, bp4d.BP4D_PLUS_TASKS
for _layout in (
    Layout("bu3dfe", "BU-3DFE: VRML scans, 6 emotions x 4 intensities + neutral", bu3dfe.scan, bu3dfe.subject_ids,
           bu3dfe.write_subject, EMOTION_ORDER, sequences=False),
    Layout("bu4dfe", "BU-4DFE: VRML sequences of 6 emotions", bu4dfe.scan, bu4dfe.subject_ids,
           bu4dfe.write_subject, tuple(bu4dfe.FOLDER_OF_EMOTION), sequences=True),
    Layout("bosphorus", "Bosphorus: .bnt range scans, 6 emotions + neutral (+ AU, pose, occlusion scans)",
           bosphorus.scan, bosphorus.subject_ids, bosphorus.write_subject, EMOTION_ORDER, sequences=False),
    Layout("bp4d", "BP4D-Spontaneous: OBJ sequences of tasks T1..T8",
           partial(bp4d.scan, tasks=_SPONTANEOUS, dataset="BP4D-Spontaneous"), bp4d.subject_ids,
           partial(bp4d.write_subject, tasks=_SPONTANEOUS, dataset="BP4D-Spontaneous"), _labels_of(_SPONTANEOUS),
           sequences=True),
    Layout("bp4d+", "BP4D+: OBJ sequences of tasks T1..T10",
           partial(bp4d.scan, tasks=_PLUS, dataset="BP4D+"), bp4d.subject_ids,
           partial(bp4d.write_subject, tasks=_PLUS, dataset="BP4D+"), _labels_of(_PLUS), sequences=True),
    Layout("folder", "any meshes listed in manifest.csv / manifest.json", folder.scan, folder.subject_ids,
           folder.write_subject, EMOTION_ORDER, sequences=False, write_index=folder.write_index),
):
    register_layout(_layout)


def get_layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise ValueError(f"unknown dataset layout {name!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


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
            points, names = read_landmarks(landmarks_path)
            landmarks = points.astype(np.float32)
            if names is not None:
                metadata["landmark_names"] = names
        meshes.append(dataclasses.replace(mesh, landmarks=landmarks, metadata=metadata))
    return meshes


def _write_subject_job(
    layout_name: str, root: Path, overwritable: frozenset[str], subject: str, seed: int, request: SyntheticRequest
) -> tuple[list[FaceSample], list[str], str | None]:
    """Write one subject (in a worker or inline): its samples, the files written and any error message."""
    out = OutputFolder(root, overwritable)
    try:
        return get_layout(layout_name).write_subject(out, subject, seed, request), out.written, None
    except Exception as err:  # the parent records what was written before it stops
        return [], out.written, f"{subject}: {type(err).__name__}: {err}"


def _check_request(layout: Layout, request: SyntheticRequest) -> None:
    """A clear ValueError for what the layout cannot hold or the synthesiser cannot make."""
    unknown = [emotion for emotion in request.emotions if emotion not in layout.emotions]
    if unknown or not request.emotions:
        raise ValueError(
            f"layout {layout.name!r} holds the emotions {', '.join(layout.emotions)}; got {list(request.emotions)}"
        )
    bad = [intensity for intensity in request.intensities if intensity not in INTENSITY_SCALE]
    if bad or not request.intensities:
        raise ValueError(f"intensities must be among {sorted(INTENSITY_SCALE)}, got {list(request.intensities)}")
    if request.recipes is not None and layout.name != "folder":
        raise ValueError(f"random recipes are written in the folder layout only, not {layout.name!r}")
    if request.faces_per_emotion < 1:
        raise ValueError(f"faces_per_emotion must be at least 1, got {request.faces_per_emotion}")
    if layout.sequences and request.frames < 5:
        raise ValueError(f"a sequence needs at least 5 frames (neutral, onset, apex, offset, neutral), "
                         f"got {request.frames}")


def write_synthetic_dataset(
    root: str | Path,
    layout: str,
    subjects: int,
    *,
    subject_seed_offset: int = 0,
    emotions: Sequence[str] | None = None,
    intensities: Sequence[int] = (1, 2, 3, 4),
    frames: int = 25,
    fps: float = 25.0,
    variation: Variation = DEFAULT_VARIATION,
    seed: int = 0,
    texture_size: int = 256,
    grid_spacing: float = bosphorus.DEFAULT_GRID_SPACING,
    recipes: str | None = None,
    faces_per_emotion: int = 1,
    workers: int = 1,
    overwrite: bool = False,
    on_subject_done: Callable[[str], None] | None = None,
    command: str | None = None,
) -> list[FaceSample]:
    """Write `subjects` synthetic subjects (seeds subject_seed_offset, +1, ...) into `root` in `layout`'s format.

    emotions: default all the layout holds; intensities: used where the layout names them (bu3dfe, folder),
    the others write full intensity; frames/fps: sequences; seed: the per-face variation draw; texture_size:
    texture images (pixels); grid_spacing: Bosphorus range grids (mm); workers > 1: subjects in processes;
    command: the command line to record with the files (see `synthetic_command`).
    `root` must be empty or new; with `overwrite`, files an earlier run recorded as its own may be replaced,
    nothing else, and nothing is deleted. Returns the samples written, as a scan would index them.
    """
    chosen = get_layout(layout)
    request = SyntheticRequest(
        emotions=tuple(emotions) if emotions is not None else chosen.emotions, intensities=tuple(intensities),
        frames=frames, fps=fps, variation=variation, sample_seed=seed, texture_size=texture_size,
        grid_spacing=grid_spacing, recipes=recipes, faces_per_emotion=faces_per_emotion,
    )
    _check_request(chosen, request)
    out = open_output(root, overwrite)
    seeds = [subject_seed_offset + number for number in range(subjects)]
    ids = chosen.subject_ids([subject_attributes(seed)["gender"] for seed in seeds])
    job = partial(_write_subject_job, layout, out.root, out.overwritable, request=request)
    samples: list[FaceSample] = []
    written: list[str] = []
    errors: list[str] = []
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        results = pool.map(job, ids, seeds) if pool else map(job, ids, seeds)
        for subject, (subject_samples, subject_files, error) in zip(ids, results):
            samples += subject_samples
            written += subject_files
            if error:
                errors.append(error)
            if on_subject_done is not None:
                on_subject_done(subject)
        if chosen.write_index is not None and not errors:
            index = OutputFolder(out.root, out.overwritable)
            chosen.write_index(index, samples)
            written += index.written
    finally:
        if pool is not None:
            pool.shutdown()
        out.root.mkdir(parents=True, exist_ok=True)
        write_record(out.root, layout, written, command)
    if errors:
        raise RuntimeError(f"writing {len(errors)} subject(s) failed; first: {errors[0]}")
    return samples


def is_synthetic(root: str | Path) -> bool:
    """Whether `root` was written by `write_synthetic_dataset` (it keeps a record of its files there)."""
    return (Path(root) / RECORD_NAME).is_file()


def synthetic_command(root: str | Path) -> str | None:
    """The command that wrote the synthetic dataset at `root`, when its record has one."""
    if not is_synthetic(root):
        return None
    return json.loads((Path(root) / RECORD_NAME).read_text(encoding="utf-8")).get("command")
