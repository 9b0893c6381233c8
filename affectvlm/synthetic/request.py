"""What to synthesise: the faces of each subject (SyntheticRequest, what a layout writer gets) and the dataset
around them (DatasetRequest, what `write_synthetic_dataset` gets), and the checks that a layout can hold them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..data.registry import DatasetLayout
from .expressions import INTENSITY_SCALE
from .dynamics import SequenceDynamics
from .sequences import SEQUENCE_PHASES, SEQUENCE_SUBJECT_SEED_OFFSET, SequenceClip
from .variation import DEFAULT_VARIATION, Variation


@dataclass(frozen=True)
class SyntheticRequest:
    """What to synthesise for each subject; layouts without intensity levels write full intensity only."""

    emotions: tuple[str, ...] | None = None  # None: every emotion the layout holds
    intensities: tuple[int, ...] = (1, 2, 3, 4)
    frames: int = 25  # per 4D sequence; with `dynamics`, the most a sequence has
    fps: float = 25.0
    dynamics: SequenceDynamics | None = None  # None: posed sequences of fixed timing
    variation: Variation = DEFAULT_VARIATION
    sample_seed: int = 0  # the per-face variation draw
    texture_size: int = 256  # texture images, pixels (folder layout: 0 writes untextured PLY)
    grid_spacing: float = 1.5  # Bosphorus range grids, millimetres between grid points
    # "train" / "validation" / "heldout": faces_per_emotion faces per subject and emotion, each from a
    # random recipe of that split at a random level (layouts that support it: folder); None: each emotion's
    # prototype per intensity
    recipes: str | None = None
    faces_per_emotion: int = 1

    def __post_init__(self) -> None:
        if self.emotions is not None:
            object.__setattr__(self, "emotions", tuple(self.emotions))
        object.__setattr__(self, "intensities", tuple(self.intensities))

    @property
    def clip(self) -> SequenceClip:
        """The time of each 4D sequence asked for."""
        return SequenceClip(self.frames, self.fps, self.dynamics)


@dataclass(frozen=True)
class DatasetRequest:
    """A synthetic dataset to write: `subjects` subjects (identity seeds subject_seed_offset, +1, ...) into
    `root` in `layout`'s format, each with `faces`.

    The identity seeds of sequence layouts start at SEQUENCE_SUBJECT_SEED_OFFSET unless an offset is given,
    so that 4D subjects are never the 3D training sets' subjects. `root` must be empty or new; with `overwrite`, files an earlier run recorded as its own may be replaced,
    nothing else, and nothing is deleted. workers > 1: subjects are written in processes. command: the command
    line to record with the files (see `output.synthetic_command`).
    """

    root: Path
    layout: str
    subjects: int
    faces: SyntheticRequest = SyntheticRequest()
    subject_seed_offset: int | None = None  # None: 0, or SEQUENCE_SUBJECT_SEED_OFFSET for sequence layouts
    workers: int = 1
    overwrite: bool = False
    command: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))


def first_subject_seed(request: DatasetRequest, layout: DatasetLayout) -> int:
    """The identity seed of the request's first subject."""
    if request.subject_seed_offset is not None:
        return request.subject_seed_offset
    return SEQUENCE_SUBJECT_SEED_OFFSET if layout.sequences else 0


def resolved_faces(layout: DatasetLayout, faces: SyntheticRequest, random_recipes: bool) -> SyntheticRequest:
    """`faces` with its emotions filled in from the layout, or a clear ValueError for what the layout cannot
    hold (`random_recipes`: whether its writer draws random recipes) or the synthesiser cannot make."""
    faces = faces if faces.emotions is not None else dataclasses.replace(faces, emotions=layout.emotions)
    unknown = [emotion for emotion in faces.emotions if emotion not in layout.emotions]
    if unknown or not faces.emotions:
        raise ValueError(
            f"layout {layout.name!r} holds the emotions {', '.join(layout.emotions)}; got {list(faces.emotions)}"
        )
    bad = [intensity for intensity in faces.intensities if intensity not in INTENSITY_SCALE]
    if bad or not faces.intensities:
        raise ValueError(f"intensities must be among {sorted(INTENSITY_SCALE)}, got {list(faces.intensities)}")
    if faces.recipes is not None and not random_recipes:
        raise ValueError(f"random recipes are written in the folder layout only, not {layout.name!r}")
    if faces.faces_per_emotion < 1:
        raise ValueError(f"faces_per_emotion must be at least 1, got {faces.faces_per_emotion}")
    if layout.sequences and faces.frames < len(SEQUENCE_PHASES):
        raise ValueError(f"a sequence needs at least 5 frames (neutral, onset, apex, offset, neutral), "
                         f"got {faces.frames}")
    return faces
