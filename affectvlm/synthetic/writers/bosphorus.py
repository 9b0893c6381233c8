"""Synthetic subjects in Bosphorus's layout (see affectvlm.data.bosphorus).

Each face is scanned orthographically on a regular grid (`grid_spacing` mm), and the writer names the
landmarks it can place from the Multi-PIE 68 (MULTIPIE_OF_BOSPHORUS_LANDMARK; 20 of Bosphorus's 24 - the nose
saddle points and ear lobes have no Multi-PIE counterpart). A face whose crop removed landmarks gets them only
when its metadata says which of the 68 remain ("landmark_ids"); otherwise it is written without a .lm3.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...data.bosphorus import CATEGORIES, DATASET, EMOTION_CODES
from ...data.samples import FaceSample
from ...io.bnt import write_bnt_grid
from ...io.landmarks import write_lm3
from ...model.meshes_affectvlm import FaceMesh
from ..faces import synthesize_face
from ..output import OutputFolder
from ..range_scan import mesh_to_grid
from ..request import SyntheticRequest
from ..texture import textured_scan

CODE_OF_EMOTION = {emotion: code for code, emotion in EMOTION_CODES.items()}
# Bosphorus landmark name -> index (0-based) among the Multi-PIE 68; subject's left is the image's right.
MULTIPIE_OF_BOSPHORUS_LANDMARK = {
    "Outer left eyebrow": 26, "Middle left eyebrow": 24, "Inner left eyebrow": 22,
    "Inner right eyebrow": 21, "Middle right eyebrow": 19, "Outer right eyebrow": 17,
    "Outer left eye corner": 45, "Inner left eye corner": 42, "Inner right eye corner": 39,
    "Outer right eye corner": 36, "Left nose peak": 35, "Nose tip": 30, "Right nose peak": 31,
    "Left mouth corner": 54, "Upper lip outer middle": 51, "Right mouth corner": 48, "Upper lip inner middle": 62,
    "Lower lip inner middle": 66, "Lower lip outer middle": 57, "Chin middle": 8,
}


def subject_ids(genders: Sequence[str]) -> list[str]:
    return [f"bs{number:03d}" for number in range(len(genders))]


def named_landmarks(mesh: FaceMesh) -> tuple[list[str], np.ndarray] | None:
    """The Bosphorus-named landmarks of a synthetic face, or None when its landmarks cannot be identified."""
    if mesh.landmarks is None:
        return None
    ids = mesh.metadata.get("landmark_ids")
    if ids is None and len(mesh.landmarks) == 68:
        ids = range(68)
    if ids is None:
        return None
    row_of = {int(landmark): row for row, landmark in enumerate(ids)}
    names = [name for name, landmark in MULTIPIE_OF_BOSPHORUS_LANDMARK.items() if landmark in row_of]
    rows = [row_of[MULTIPIE_OF_BOSPHORUS_LANDMARK[name]] for name in names]
    return names, np.asarray(mesh.landmarks, dtype=np.float64)[rows]


def write_subject(
    out: OutputFolder, subject: str, subject_seed: int, request: SyntheticRequest
) -> list[FaceSample]:
    """Write one synthetic subject's scans (one per emotion, full intensity) in Bosphorus's layout."""
    samples = []
    for emotion in request.emotions:
        face = synthesize_face(subject_seed, emotion, None, request.variation, request.sample_seed)
        kind, code = ("N", "N") if emotion == "neutral" else ("E", CODE_OF_EMOTION[emotion])
        stem = f"{subject}/{subject}_{kind}_{code}_0"
        scan_mesh = textured_scan(face, subject_seed, request.texture_size)
        grid, image = mesh_to_grid(scan_mesh, request.grid_spacing, f"{subject}_{kind}_{code}_0.png")
        mesh_path, image_path = out.path(stem + ".bnt"), out.path(stem + ".png")
        write_bnt_grid(mesh_path, grid)
        image.save(image_path)
        metadata = {"dataset": DATASET, "category": CATEGORIES[kind], "expression_code": f"{kind}_{code}",
                    "take": 0, "texture_file": str(image_path)}
        landmarks = named_landmarks(scan_mesh)
        if landmarks is not None:
            metadata["landmarks_file"] = str(out.path(stem + ".lm3"))
            write_lm3(metadata["landmarks_file"], *landmarks, title=f"{subject}_{kind}_{code}_0")
        samples.append(FaceSample(files=(str(mesh_path),), label=emotion, subject=subject, metadata=metadata))
    return samples
