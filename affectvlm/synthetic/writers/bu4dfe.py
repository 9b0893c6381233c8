"""Synthetic subjects in BU-4DFE's layout (see affectvlm.data.bu4dfe): one posed sequence per emotion, frames
in millimetres with a baked texture each and 83 landmarks per frame (see `common.bnd_landmarks`)."""

from __future__ import annotations

from collections.abc import Sequence

from ...data.bu4dfe import DATASET, EXPRESSION_FOLDERS
from ...data.samples import FaceSample
from ...data.scanning import GENDER_OF_LETTER
from ...io.landmarks import write_bnd
from ...io.vrml import write_vrml
from ..output import OutputFolder
from ..request import SyntheticRequest
from ..sequences import synthesize_sequence
from ..texture import textured_scan
from .common import bnd_landmarks, gendered_subject_ids

FOLDER_OF_EMOTION = {emotion: folder for folder, emotion in EXPRESSION_FOLDERS.items()}


def subject_ids(genders: Sequence[str]) -> list[str]:
    return gendered_subject_ids(genders, 3)


def write_subject(
    out: OutputFolder, subject: str, subject_seed: int, request: SyntheticRequest
) -> list[FaceSample]:
    """Write one synthetic subject's sequences (one per emotion, full intensity) in BU-4DFE's layout."""
    samples = []
    for emotion in request.emotions:
        frames = synthesize_sequence(subject_seed, emotion, request.clip, request.variation, request.sample_seed)
        files, landmarks, textures = [], [], []
        for number, frame in enumerate(frames):
            scan_mesh = textured_scan(frame, subject_seed, request.texture_size)
            stem = f"{subject}/{FOLDER_OF_EMOTION[emotion]}/{number:03d}"
            files.append(out.path(stem + ".wrl"))
            textures.append(out.path(stem + ".jpg"))
            write_vrml(files[-1], scan_mesh, textures[-1])
            landmarks.append(out.path(stem + ".bnd"))
            write_bnd(landmarks[-1], *bnd_landmarks(scan_mesh))
        metadata = {"dataset": DATASET, "expression_folder": FOLDER_OF_EMOTION[emotion],
                    "gender": GENDER_OF_LETTER[subject[0]], "frame_count": len(frames), "fps": request.fps,
                    "landmarks_files": [str(path) for path in landmarks],
                    "texture_files": [str(path) for path in textures]}
        samples.append(FaceSample(files=tuple(str(path) for path in files), label=emotion, subject=subject,
                                  metadata=metadata))
    return samples
