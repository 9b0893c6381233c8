"""Bosphorus 3D face database: scanner and synthetic writer.

Layout: `<root>/<subject>/<subject>_<CLASS>_<CODE>_<N>.bnt`, e.g. `bs000/bs000_E_HAPPY_0.bnt`, where subject
is bs000..bs104 and CLASS_CODE says what the scan shows:
  - E_ANGER, E_DISGUST, E_FEAR, E_HAPPY, E_SADNESS, E_SURPRISE: the six emotions (no intensity levels);
  - N_N: neutral;
  - LFAU_<au> / UFAU_<au> / CAU_<code>: lower-face, upper-face and combined action units;
  - YR_<..> / PR_<..> / CR_<..>: yaw, pitch and cross head rotations;
  - O_<..>: occlusions (O_EYE, O_MOUTH, O_GLASSES, O_HAIR); IGN_<..>: scans the database marks as ignorable.
Only E_ and N_N scans have an emotion label; the others are indexed with label None (and their category in the
metadata) so that users can filter them, or left out with `emotions_only=True`.
Companions: the 2D image `<stem>.png` (named in the .bnt header) and up to 24 named landmarks `<stem>.lm3`
(scans without landmarks exist, so a missing .lm3 is not a problem unless `require_landmarks=True`).
File names carry no gender or age.

The synthetic writer scans each face orthographically on a regular grid (`grid_spacing` mm) and names the
landmarks it can place from the Multi-PIE 68 (MULTIPIE_OF_BOSPHORUS_LANDMARK; 20 of Bosphorus's 24 - the nose
saddle points and ear lobes have no Multi-PIE counterpart). A face whose crop removed landmarks gets them only
when its metadata says which of the 68 remain ("landmark_ids"); otherwise it is written without a .lm3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io.bnt import mesh_to_grid, write_bnt_grid
from ..io.landmarks import write_lm3
from ..io.scan import textured_scan
from ..model.meshes_affectvlm import FaceMesh
from .samples import FaceSample, ReadProblems
from .synthetic import synthesize_face

if TYPE_CHECKING:
    from ..io.output import OutputFolder
    from .layouts import SyntheticRequest

DATASET = "Bosphorus"
EMOTION_CODES = {"ANGER": "anger", "DISGUST": "disgust", "FEAR": "fear", "HAPPY": "happiness",
                 "SADNESS": "sadness", "SURPRISE": "surprise"}
CODE_OF_EMOTION = {emotion: code for code, emotion in EMOTION_CODES.items()}
CATEGORIES = {"E": "emotion", "N": "neutral", "LFAU": "action_unit", "UFAU": "action_unit", "CAU": "action_unit",
              "YR": "pose", "PR": "pose", "CR": "pose", "O": "occlusion", "IGN": "ignored"}
# Bosphorus landmark name -> index (0-based) among the Multi-PIE 68; subject's left is the image's right.
MULTIPIE_OF_BOSPHORUS_LANDMARK = {
    "Outer left eyebrow": 26, "Middle left eyebrow": 24, "Inner left eyebrow": 22,
    "Inner right eyebrow": 21, "Middle right eyebrow": 19, "Outer right eyebrow": 17,
    "Outer left eye corner": 45, "Inner left eye corner": 42, "Inner right eye corner": 39,
    "Outer right eye corner": 36, "Left nose peak": 35, "Nose tip": 30, "Right nose peak": 31,
    "Left mouth corner": 54, "Upper lip outer middle": 51, "Right mouth corner": 48, "Upper lip inner middle": 62,
    "Lower lip inner middle": 66, "Lower lip outer middle": 57, "Chin middle": 8,
}
DEFAULT_GRID_SPACING = 1.5  # millimetres between grid points
_SUBJECT = re.compile(r"bs\d{3}")
_NAME = re.compile(r"(?P<subject>bs\d{3})_(?P<kind>[A-Z]+)_(?P<code>[A-Za-z0-9]+)_(?P<take>\d+)")


def subject_ids(genders: Sequence[str]) -> list[str]:
    return [f"bs{number:03d}" for number in range(len(genders))]


def _label(kind: str, code: str) -> tuple[str | None, str | None]:
    """(label, problem) for a scan's class and code."""
    if kind not in CATEGORIES:
        return None, f"unknown scan class {kind!r}; expected one of {', '.join(CATEGORIES)}"
    if kind == "E":
        if code not in EMOTION_CODES:
            return None, f"unknown emotion {code!r}; expected one of {', '.join(EMOTION_CODES)}"
        return EMOTION_CODES[code], None
    if kind == "N":
        return ("neutral", None) if code == "N" else (None, f"neutral scans are N_N, not N_{code}")
    return None, None


def _sample(path: Path, folder: str, emotions_only: bool, require_landmarks: bool, problems: ReadProblems
            ) -> FaceSample | None:
    """The sample for one .bnt file, or None when it is left out (reported when something is wrong)."""
    match = _NAME.fullmatch(path.stem)
    if match is None:
        problems.report(f"{path}: name does not follow Bosphorus's <subject>_<CLASS>_<CODE>_<N>.bnt "
                        "(e.g. bs000_E_HAPPY_0.bnt)")
        return None
    label, problem = _label(match["kind"], match["code"])
    if problem is None and match["subject"] != folder:
        problem = f"belongs to subject {match['subject']} but lies in folder {folder}"
    if problem is None and path.stat().st_size == 0:
        problem = "file is empty"
    if problem is not None:
        problems.report(f"{path}: {problem}")
        return None
    if label is None and emotions_only:
        return None
    metadata = {"dataset": DATASET, "category": CATEGORIES[match["kind"]],
                "expression_code": f"{match['kind']}_{match['code']}", "take": int(match["take"])}
    landmarks, image = path.with_suffix(".lm3"), path.with_suffix(".png")
    if landmarks.is_file():
        metadata["landmarks_file"] = str(landmarks)
    elif require_landmarks:
        problems.report(f"{landmarks}: landmark file missing (for {path.name})")
        return None
    if image.is_file():
        metadata["texture_file"] = str(image)
    return FaceSample(files=(str(path),), label=label, subject=folder, metadata=metadata)


def scan(root: Path, problems: ReadProblems, emotions_only: bool = False, require_landmarks: bool = False
         ) -> Iterator[FaceSample]:
    """Bosphorus scans under `root`, subject by subject, file by file, in sorted order."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".bnt" and p.is_file()):
            sample = _sample(path, folder.name, emotions_only, require_landmarks, problems)
            if sample is not None:
                yield sample


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
