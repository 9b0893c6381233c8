"""The dataset layouts by name: what each holds and the scanner that indexes a folder of it.

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

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from . import bosphorus, bp4d, bu3dfe, bu4dfe, folder
from .emotions import EMOTIONS_WITH_NEUTRAL
from .samples import FaceSample


@dataclass(frozen=True)
class DatasetLayout:
    """A dataset's folder layout: how to index it and what it can hold."""

    name: str
    description: str
    scan: Callable[..., Iterator[FaceSample]]  # (root, problems, **options)
    emotions: tuple[str, ...]  # the emotions the layout can hold
    sequences: bool  # its samples are 4D sequences


LAYOUTS: dict[str, DatasetLayout] = {}


def register_layout(layout: DatasetLayout) -> None:
    """Make a layout available by name to scan_dataset (and, with a writer, to write_synthetic_dataset)."""
    LAYOUTS[layout.name] = layout


def get_layout(name: str) -> DatasetLayout:
    if name not in LAYOUTS:
        raise ValueError(f"unknown dataset layout {name!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def _bp4d_layout(name: str, description: str, tasks: dict[str, tuple[str | None, str]], dataset: str
                 ) -> DatasetLayout:
    return DatasetLayout(name, description, partial(bp4d.scan, tasks=tasks, dataset=dataset),
                         bp4d.elicited_emotions(tasks), sequences=True)


for _layout in (
    DatasetLayout("bu3dfe", "BU-3DFE: VRML scans, 6 emotions x 4 intensities + neutral", bu3dfe.scan,
                  EMOTIONS_WITH_NEUTRAL, sequences=False),
    DatasetLayout("bu4dfe", "BU-4DFE: VRML sequences of 6 emotions", bu4dfe.scan,
                  tuple(bu4dfe.EXPRESSION_FOLDERS.values()), sequences=True),
    DatasetLayout("bosphorus", "Bosphorus: .bnt range scans, 6 emotions + neutral (+ AU, pose, occlusion scans)",
                  bosphorus.scan, EMOTIONS_WITH_NEUTRAL, sequences=False),
    _bp4d_layout("bp4d", "BP4D-Spontaneous: OBJ sequences of tasks T1..T8", bp4d.BP4D_SPONTANEOUS_TASKS,
                 bp4d.BP4D_SPONTANEOUS),
    _bp4d_layout("bp4d+", "BP4D+: OBJ sequences of tasks T1..T10", bp4d.BP4D_PLUS_TASKS, bp4d.BP4D_PLUS),
    DatasetLayout("folder", "any meshes listed in manifest.csv / manifest.json", folder.scan,
                  EMOTIONS_WITH_NEUTRAL, sequences=False),
):
    register_layout(_layout)
