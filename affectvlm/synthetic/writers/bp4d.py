"""Synthetic subjects in BP4D-Spontaneous's and BP4D+'s layout (see affectvlm.data.bp4d): for every task whose
emotion is requested, a posed sequence of it (a stand-in for the spontaneous one) as textured OBJ frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...data.samples import FaceSample
from ...data.scanning import GENDER_OF_LETTER
from ...io.obj import write_obj
from ..output import OutputFolder
from ..request import SyntheticRequest
from ..sequences import synthesize_sequence
from ..texture import textured_scan
from .common import gendered_subject_ids


def subject_ids(genders: Sequence[str]) -> list[str]:
    return gendered_subject_ids(genders, 3)


def write_subject(out: OutputFolder, subject: str, subject_seed: int, request: SyntheticRequest,
                  tasks: Mapping[str, tuple[str | None, str]], dataset: str) -> list[FaceSample]:
    """Write one synthetic subject: for every task whose emotion is requested, a posed sequence of it (a
    stand-in for the spontaneous one) as textured OBJ frames."""
    samples = []
    for task, (emotion, elicitation) in tasks.items():
        if emotion not in request.emotions:
            continue
        frames = synthesize_sequence(subject_seed, emotion, request.clip, request.variation, request.sample_seed)
        files, textures = [], []
        for number, frame in enumerate(frames):
            stem = f"{subject}/{task}/{number:04d}"
            files.append(out.path(stem + ".obj"))
            textures.append(out.path(stem + ".jpg"))
            out.path(stem + ".mtl")
            write_obj(files[-1], textured_scan(frame, subject_seed, request.texture_size), textures[-1])
        metadata = {"dataset": dataset, "task": task, "gender": GENDER_OF_LETTER[subject[0]],
                    "frame_count": len(frames), "fps": request.fps, "elicitation": elicitation,
                    "texture_files": [str(path) for path in textures]}
        samples.append(FaceSample(files=tuple(str(path) for path in files), label=emotion, subject=subject,
                                  metadata=metadata))
    return samples
