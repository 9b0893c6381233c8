"""Synthetic subjects in BU-3DFE's layout (see affectvlm.data.bu3dfe).

Each face is stored in millimetres with a baked texture. Its `.bnd` holds 83 points: the synthetic face's
Multi-PIE landmarks (68, fewer if a crop cut some off) in their order, then vertices picked by farthest-point
sampling from them (spread over the face's outline, as BU-3DFE's 15 contour points are), each with its vertex
number. This is not BU-3DFE's own landmark order.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...data.bu3dfe import DATASET, EXPRESSION_CODES
from ...data.samples import FaceSample
from ...data.scanning import GENDER_OF_LETTER
from ...io.landmarks import write_bnd
from ...io.vrml import write_vrml
from ..attributes import subject_attributes
from ..faces import synthesize_face
from ..output import OutputFolder
from ..request import SyntheticRequest
from ..texture import textured_scan
from .common import bnd_landmarks, gendered_subject_ids

CODE_OF_EMOTION = {emotion: code for code, emotion in EXPRESSION_CODES.items()}


def subject_ids(genders: Sequence[str]) -> list[str]:
    return gendered_subject_ids(genders, 4)


def write_subject(
    out: OutputFolder, subject: str, subject_seed: int, request: SyntheticRequest
) -> list[FaceSample]:
    """Write one synthetic subject's faces (each emotion at each intensity, neutral once) in BU-3DFE's layout."""
    ethnicity = subject_attributes(subject_seed)["ethnicity"]
    samples = []
    for emotion in request.emotions:
        for intensity in (0,) if emotion == "neutral" else request.intensities:
            face = synthesize_face(subject_seed, emotion, intensity, request.variation, request.sample_seed)
            scan_mesh = textured_scan(face, subject_seed, request.texture_size)
            stem = f"{subject}/{subject}_{CODE_OF_EMOTION[emotion]}{intensity:02d}{ethnicity}_F3D"
            mesh_path, texture_path = out.path(stem + ".wrl"), out.path(stem + ".bmp")
            write_vrml(mesh_path, scan_mesh, texture_path)
            landmarks_path = out.path(stem + ".bnd")
            write_bnd(landmarks_path, *bnd_landmarks(scan_mesh))
            metadata = {"dataset": DATASET, "expression_code": CODE_OF_EMOTION[emotion], "intensity": intensity,
                        "ethnicity": ethnicity, "gender": GENDER_OF_LETTER[subject[0]],
                        "landmarks_file": str(landmarks_path), "texture_file": str(texture_path)}
            samples.append(FaceSample(files=(str(mesh_path),), label=emotion, subject=subject, metadata=metadata))
    return samples
