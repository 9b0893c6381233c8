"""Subject-independent evaluation protocols: which samples count, and k folds split by person.

A face model that has seen a person's neutral face learns that person, not the emotion; every published
3D FER protocol therefore keeps each subject in exactly one of train, validation and test. `Protocol.split`
checks that in code on every call, not only in the tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..model.configuration_affectvlm import BASIC_EMOTIONS
from .samples import FaceSample, filter_samples, subjects_of

logger = logging.getLogger(__name__)


class ProtocolError(ValueError):
    """A protocol that cannot be applied to the given data (too few subjects, a fold out of range...)."""


@dataclass(frozen=True)
class Split:
    """The samples of one fold: train, validation (may be empty) and test, with disjoint subjects."""

    train: list[FaceSample]
    validation: list[FaceSample]
    test: list[FaceSample]

    def subjects(self) -> dict[str, set[str]]:
        return {name: set(subjects_of(getattr(self, name))) for name in ("train", "validation", "test")}


@dataclass(frozen=True)
class Protocol:
    """Which samples an experiment uses and how subjects are assigned to k folds.

    num_subjects: how many subjects take part, drawn with `seed` from all of them (None: all).
    labels: the classes kept; metadata: allowed values per metadata key (e.g. intensity 3 and 4).
    folds: k; in fold i, fold i is the test set and fold (i + 1) mod k the validation set when
    `validation_folds` is 1 (0: no validation set).
    """

    name: str
    labels: tuple[str, ...] = BASIC_EMOTIONS
    num_subjects: int | None = None
    folds: int = 10
    validation_folds: int = 1
    seed: int = 0
    metadata: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    sequences: bool = False

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ProtocolError(f"protocol {self.name!r}: needs at least 2 folds, got {self.folds}")
        if self.validation_folds not in (0, 1):
            raise ProtocolError(f"protocol {self.name!r}: validation_folds must be 0 or 1, got {self.validation_folds}")
        if self.num_subjects is not None and self.num_subjects < self.folds:
            raise ProtocolError(
                f"protocol {self.name!r}: {self.num_subjects} subjects cannot fill {self.folds} folds"
            )

    def with_overrides(self, **overrides: Any) -> "Protocol":
        """A copy with some settings changed (e.g. folds=5, num_subjects=None)."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})

    def select(self, samples: Iterable[FaceSample]) -> list[FaceSample]:
        """The samples this protocol uses: right labels, metadata and kind (3D or 4D), chosen subjects."""
        kept = [
            sample
            for sample in filter_samples(samples, labels=self.labels, **self.metadata)
            if sample.is_sequence == self.sequences
        ]
        chosen = set(self.participants(kept))
        return [sample for sample in kept if sample.subject in chosen]

    def participants(self, samples: Sequence[FaceSample]) -> list[str]:
        """The subjects taking part, sorted; a seeded draw of `num_subjects` when fewer are asked for."""
        subjects = sorted(subjects_of(samples))
        if self.num_subjects is None or self.num_subjects >= len(subjects):
            if self.num_subjects is not None and self.num_subjects > len(subjects):
                logger.warning(
                    "protocol %s asks for %d subjects, the data has %d: using all of them",
                    self.name, self.num_subjects, len(subjects),
                )
            return subjects
        order = np.random.default_rng(self.seed).permutation(len(subjects))[: self.num_subjects]
        return sorted(subjects[index] for index in order)

    def fold_subjects(self, samples: Sequence[FaceSample]) -> list[list[str]]:
        """The participants dealt into `folds` groups of near-equal size, in a seeded random order."""
        subjects = self.participants(samples)
        if len(subjects) < self.folds:
            raise ProtocolError(
                f"protocol {self.name!r}: {len(subjects)} subjects with usable samples cannot fill "
                f"{self.folds} folds (labels {list(self.labels)}, metadata filter {self.metadata})"
            )
        order = np.random.default_rng(self.seed + 1).permutation(len(subjects))
        return [sorted(subjects[index] for index in order[fold :: self.folds]) for fold in range(self.folds)]

    def split(self, samples: Iterable[FaceSample], fold: int) -> Split:
        """Train / validation / test samples of one fold; raises if any subject is in two of them."""
        if not 0 <= fold < self.folds:
            raise ProtocolError(f"protocol {self.name!r}: fold must be in 0..{self.folds - 1}, got {fold}")
        selected = self.select(samples)
        groups = self.fold_subjects(selected)
        test = set(groups[fold])
        validation = set(groups[(fold + 1) % self.folds]) if self.validation_folds else set()
        split = Split(
            train=[s for s in selected if s.subject not in test | validation],
            validation=[s for s in selected if s.subject in validation],
            test=[s for s in selected if s.subject in test],
        )
        _assert_subject_independent(self.name, fold, split)
        return split


def _assert_subject_independent(name: str, fold: int, split: Split) -> None:
    subjects = split.subjects()
    for first, second in (("train", "validation"), ("train", "test"), ("validation", "test")):
        shared = subjects[first] & subjects[second]
        if shared:
            raise ProtocolError(
                f"protocol {name!r} fold {fold}: subjects {sorted(shared)[:5]} are in both {first} and {second}"
            )
    if not split.test:
        raise ProtocolError(f"protocol {name!r} fold {fold}: the test set is empty")


PROTOCOLS: dict[str, Protocol] = {
    # The common BU-3DFE protocol: 60 of the 100 subjects, the two highest of the four intensities, 10 folds.
    "bu3dfe": Protocol("bu3dfe", num_subjects=60, metadata={"intensity": (3, 4)}),
    # Bosphorus: the 60 subjects with all six emotions are usual; 10 folds.
    "bosphorus": Protocol("bosphorus", num_subjects=60),
    # BU-4DFE: one sequence per subject and emotion, all subjects, 10 folds.
    "bu4dfe": Protocol("bu4dfe", sequences=True),
    # BP4D+/BP4D-Spontaneous: task sequences mapped to emotions, all subjects.
    "bp4d": Protocol("bp4d", sequences=True),
    "bp4d+": Protocol("bp4d+", sequences=True),
    # Any other data through a manifest: all labelled subjects, 10 folds.
    "folder": Protocol("folder"),
}


def get_protocol(name: str, **overrides: Any) -> Protocol:
    """A built-in protocol by name, with optional overrides (folds, num_subjects, seed, labels, metadata...)."""
    if name not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol {name!r}; built in: {sorted(PROTOCOLS)}")
    return PROTOCOLS[name].with_overrides(**overrides)
