"""FaceSample: one entry of a dataset index, found by a reader without loading any mesh.

Readers only walk folders and parse file names (or a manifest), so an index of a whole dataset is cheap;
meshes are loaded later, one at a time, by whoever renders them (the cache builder, a DataLoader worker).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceSample:
    """A 3D face (one mesh file) or a 4D face (an ordered sequence of mesh files) with its annotations.

    `label` is an emotion name (None for unlabelled data); `subject` identifies the person, which is what
    subject-independent protocols split on; `metadata` holds what prompts and reports may use (intensity,
    gender, age_group, ethnicity, task, landmarks file, texture file...), with JSON-serialisable values.
    """

    files: tuple[str, ...]
    label: str | None
    subject: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError(f"FaceSample of subject {self.subject!r} has no files")
        object.__setattr__(self, "files", tuple(str(file) for file in self.files))
        object.__setattr__(self, "subject", str(self.subject))

    @property
    def is_sequence(self) -> bool:
        return len(self.files) > 1

    @property
    def key(self) -> str:
        """A stable identifier: the first file (and the frame count for a sequence)."""
        return self.files[0] if len(self.files) == 1 else f"{self.files[0]}[{len(self.files)} frames]"


def subjects_of(samples: Iterable[FaceSample]) -> list[str]:
    """The distinct subjects, in order of first appearance."""
    return list(dict.fromkeys(sample.subject for sample in samples))


def filter_samples(
    samples: Iterable[FaceSample],
    labels: Iterable[str] | None = None,
    subjects: Iterable[str] | None = None,
    **metadata_in: Iterable[Any],
) -> Iterator[FaceSample]:
    """Samples whose label, subject and metadata values are each among the allowed ones (None: any)."""
    allowed_labels = None if labels is None else set(labels)
    allowed_subjects = None if subjects is None else set(subjects)
    allowed_metadata = {key: set(values) for key, values in metadata_in.items()}
    for sample in samples:
        if allowed_labels is not None and sample.label not in allowed_labels:
            continue
        if allowed_subjects is not None and sample.subject not in allowed_subjects:
            continue
        if any(sample.metadata.get(key) not in values for key, values in allowed_metadata.items()):
            continue
        yield sample


ON_ERROR_CHOICES = ("skip", "raise")


class DatasetReadError(ValueError):
    """A dataset file that is missing, corrupt or misnamed; the message is always "<path>: <problem>"."""


class ReadProblems:
    """What a reader does with a bad file: stop (`on_error="raise"`) or skip it, counted and warned about.

    One instance per scan or build, so the caller can report how many files were skipped and why.
    """

    def __init__(self, on_error: str = "raise") -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
        self.on_error = on_error
        self.skipped: list[str] = []

    def report(self, message: str) -> None:
        """Raise DatasetReadError(message), or log it as a warning and count it as skipped."""
        if self.on_error == "raise":
            raise DatasetReadError(message)
        logger.warning("skipping %s", message)
        self.skipped.append(message)

    def summary(self) -> str:
        return f"{len(self.skipped)} file(s) skipped" + (f", first: {self.skipped[0]}" if self.skipped else "")
