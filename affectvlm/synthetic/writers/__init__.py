"""The synthetic writer of each dataset layout, by the layout's name in affectvlm.data.registry: how its
subjects are named, how one subject's faces are written, and what index the whole folder needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from ...data.bp4d import BP4D_PLUS, BP4D_PLUS_TASKS, BP4D_SPONTANEOUS, BP4D_SPONTANEOUS_TASKS
from ...data.samples import FaceSample
from ..output import OutputFolder
from . import bosphorus, bp4d, bu3dfe, bu4dfe, folder


@dataclass(frozen=True)
class LayoutWriter:
    """How synthetic subjects are written in one layout."""

    subject_ids: Callable[[Sequence[str]], list[str]]  # genders -> subject ids
    write_subject: Callable[..., list[FaceSample]]  # (out, subject id, subject seed, SyntheticRequest)
    write_index: Callable[[OutputFolder, Sequence[FaceSample]], None] | None = None
    random_recipes: bool = False  # whether it can draw faces from random recipes


WRITERS: dict[str, LayoutWriter] = {
    "bu3dfe": LayoutWriter(bu3dfe.subject_ids, bu3dfe.write_subject),
    "bu4dfe": LayoutWriter(bu4dfe.subject_ids, bu4dfe.write_subject),
    "bosphorus": LayoutWriter(bosphorus.subject_ids, bosphorus.write_subject),
    "bp4d": LayoutWriter(bp4d.subject_ids, partial(bp4d.write_subject, tasks=BP4D_SPONTANEOUS_TASKS,
                                                   dataset=BP4D_SPONTANEOUS)),
    "bp4d+": LayoutWriter(bp4d.subject_ids, partial(bp4d.write_subject, tasks=BP4D_PLUS_TASKS, dataset=BP4D_PLUS)),
    "folder": LayoutWriter(folder.subject_ids, folder.write_subject, folder.write_index, random_recipes=True),
}


def get_writer(name: str) -> LayoutWriter:
    if name not in WRITERS:
        raise ValueError(f"no synthetic writer for dataset layout {name!r}; known: {', '.join(WRITERS)}")
    return WRITERS[name]
