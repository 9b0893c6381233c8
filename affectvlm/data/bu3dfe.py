"""BU-3DFE (Binghamton University 3D Facial Expression database): scanner and synthetic writer.

Layout: `<root>/<subject>/<subject>_<EX><NN><RR>_F3D.wrl`, e.g. `F0001/F0001_HA03WH_F3D.wrl`, where
  - subject: F0001... (female) or M0001... (male);
  - EX: expression AN anger, DI disgust, FE fear, HA happiness, SA sadness, SU surprise, NE neutral;
  - NN: intensity 01..04 (00 for neutral);
  - RR: ethnicity code WH (white), BL (black), AE (east asian), AM (middle-east asian), LA (hispanic/latino),
    IN (indian);
  - companions: the texture `_F3D.bmp` (named by the VRML's ImageTexture url) and 83 landmarks `_F3D.bnd`.
The database also has the raw scans `_RAW.wrl` (no landmarks); `variant="RAW"` indexes those instead.
Folders not named like a subject (viewers, documents) are passed over.

The synthetic writer stores each face in millimetres with a baked texture. Its `.bnd` holds 83 points: the
synthetic face's Multi-PIE landmarks (68, fewer if a crop cut some off) in their order, then vertices picked
by farthest-point sampling from them (spread over the face's outline, as BU-3DFE's 15 contour points are),
each with its vertex number. This is not BU-3DFE's own landmark order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io.landmarks import write_bnd
from ..io.scan import textured_scan
from ..io.vrml import write_vrml
from ..model.meshes_affectvlm import FaceMesh
from .samples import FaceSample, ReadProblems
from .synthetic import ETHNICITY_CODES, subject_attributes, synthesize_face

if TYPE_CHECKING:
    from ..io.output import OutputFolder
    from .layouts import SyntheticRequest

DATASET = "BU-3DFE"
EXPRESSION_CODES = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "SA": "sadness",
                    "SU": "surprise", "NE": "neutral"}
CODE_OF_EMOTION = {emotion: code for code, emotion in EXPRESSION_CODES.items()}
GENDER_OF_LETTER = {"F": "female", "M": "male"}
LANDMARK_COUNT = 83
_SUBJECT = re.compile(r"[FM]\d{4}")
_NAME = re.compile(
    r"(?P<subject>[FM]\d{4})_(?P<code>[A-Z]{2})(?P<intensity>\d{2})(?P<ethnicity>[A-Z]{2})_(?P<variant>F3D|RAW)"
)


def gendered_subject_ids(genders: Sequence[str], digits: int) -> list[str]:
    """Binghamton-style ids (F001 / M0001...), numbered within each gender in order of appearance."""
    counts = {"F": 0, "M": 0}
    ids = []
    for gender in genders:
        letter = "F" if gender == "female" else "M"
        counts[letter] += 1
        ids.append(f"{letter}{counts[letter]:0{digits}d}")
    return ids


def subject_ids(genders: Sequence[str]) -> list[str]:
    return gendered_subject_ids(genders, 4)


def _name_problem(match: re.Match, folder: str) -> str | None:
    """What is wrong with a parsed BU-3DFE file name in subject folder `folder`, or None."""
    code, intensity, ethnicity = match["code"], int(match["intensity"]), match["ethnicity"]
    if match["subject"] != folder:
        return f"belongs to subject {match['subject']} but lies in folder {folder}"
    if code not in EXPRESSION_CODES:
        return f"unknown expression code {code!r}; expected one of {', '.join(EXPRESSION_CODES)}"
    if intensity not in ((0,) if code == "NE" else (1, 2, 3, 4)):
        return f"intensity {intensity:02d} is not valid for {code} (NE: 00, the others: 01..04)"
    if ethnicity not in ETHNICITY_CODES:
        return f"unknown ethnicity code {ethnicity!r}; expected one of {', '.join(ETHNICITY_CODES)}"
    return None


def _sample(path: Path, folder: str, variant: str, require_landmarks: bool, problems: ReadProblems
            ) -> FaceSample | None:
    """The sample for one .wrl file, or None (reported) when its name or companions are wrong."""
    match = _NAME.fullmatch(path.stem)
    if match is None:
        problems.report(f"{path}: name does not follow BU-3DFE's <subject>_<EX><NN><RR>_F3D.wrl "
                        "(e.g. F0001_HA03WH_F3D.wrl)")
        return None
    if match["variant"] != variant:
        return None
    problem = _name_problem(match, folder) or ("file is empty" if path.stat().st_size == 0 else None)
    if problem is not None:
        problems.report(f"{path}: {problem}")
        return None
    code = match["code"]
    metadata = {"dataset": DATASET, "expression_code": code, "intensity": int(match["intensity"]),
                "ethnicity": match["ethnicity"], "gender": GENDER_OF_LETTER[folder[0]]}
    landmarks, texture = path.with_suffix(".bnd"), path.with_suffix(".bmp")
    if landmarks.is_file():
        metadata["landmarks_file"] = str(landmarks)
    elif require_landmarks:
        problems.report(f"{landmarks}: landmark file missing (for {path.name})")
        return None
    if texture.is_file():
        metadata["texture_file"] = str(texture)
    return FaceSample(files=(str(path),), label=EXPRESSION_CODES[code], subject=folder, metadata=metadata)


def scan(root: Path, problems: ReadProblems, variant: str = "F3D", require_landmarks: bool | None = None
         ) -> Iterator[FaceSample]:
    """BU-3DFE samples under `root`, subject by subject, file by file, in sorted order.

    `require_landmarks` (default: True for F3D, False for RAW) makes a missing `.bnd` a reported problem;
    otherwise such a sample is indexed without landmarks.
    """
    if variant not in ("F3D", "RAW"):
        raise ValueError(f"variant must be 'F3D' or 'RAW', got {variant!r}")
    return _samples(root, problems, variant, variant == "F3D" if require_landmarks is None else require_landmarks)


def _samples(root: Path, problems: ReadProblems, variant: str, require_landmarks: bool) -> Iterator[FaceSample]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wrl" and p.is_file()):
            sample = _sample(path, folder.name, variant, require_landmarks, problems)
            if sample is not None:
                yield sample


def bnd_landmarks(mesh: FaceMesh, count: int = LANDMARK_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """(vertex numbers, points) of `count` landmarks: the mesh's own landmarks (snapped to their nearest
    vertex), then vertices chosen by farthest-point sampling from those already chosen."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    own = np.zeros((0, 3)) if mesh.landmarks is None else np.asarray(mesh.landmarks, dtype=np.float64)[:count]
    chosen = [int(np.argmin(((vertices - point) ** 2).sum(axis=1))) for point in own]
    if not chosen:  # start from the front-most point (the nose tip, for a face looking along +z)
        chosen.append(int(np.argmax(vertices[:, 2])))
    distance = np.min([((vertices - vertices[index]) ** 2).sum(axis=1) for index in chosen], axis=0)
    while len(chosen) < count:
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, ((vertices - vertices[chosen[-1]]) ** 2).sum(axis=1))
    indices = np.array(chosen, dtype=np.int64)
    return indices, vertices[indices]


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
