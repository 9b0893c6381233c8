"""BU-3DFE (Binghamton University 3D Facial Expression database): scanner.

Layout: `<root>/<subject>/<subject>_<EX><NN><RR>_F3D.wrl`, e.g. `F0001/F0001_HA03WH_F3D.wrl`, where
  - subject: F0001... (female) or M0001... (male);
  - EX: expression AN anger, DI disgust, FE fear, HA happiness, SA sadness, SU surprise, NE neutral;
  - NN: intensity 01..04 (00 for neutral);
  - RR: ethnicity code WH (white), BL (black), AE (east asian), AM (middle-east asian), LA (hispanic/latino),
    IN (indian);
  - companions: the texture `_F3D.bmp` (named by the VRML's ImageTexture url) and 83 landmarks `_F3D.bnd`.
The database also has the raw scans `_RAW.wrl` (no landmarks); `variant="RAW"` indexes those instead.
Folders not named like a subject (viewers, documents) are passed over.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .samples import FaceSample, ReadProblems
from .scanning import GENDER_OF_LETTER, match_name, scan_companions

DATASET = "BU-3DFE"
EXPRESSION_CODES = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "SA": "sadness",
                    "SU": "surprise", "NE": "neutral"}
ETHNICITY_CODES = ("WH", "BL", "AE", "AM", "LA", "IN")
LANDMARK_COUNT = 83
_SUBJECT = re.compile(r"[FM]\d{4}")
_NAME = re.compile(
    r"(?P<subject>[FM]\d{4})_(?P<code>[A-Z]{2})(?P<intensity>\d{2})(?P<ethnicity>[A-Z]{2})_(?P<variant>F3D|RAW)"
)


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
    match = match_name(_NAME, path, "BU-3DFE's <subject>_<EX><NN><RR>_F3D.wrl (e.g. F0001_HA03WH_F3D.wrl)",
                       problems)
    if match is None:
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
    companions = scan_companions(path, ".bnd", ".bmp", require_landmarks, problems)
    if companions is None:
        return None
    return FaceSample(files=(str(path),), label=EXPRESSION_CODES[code], subject=folder,
                      metadata={**metadata, **companions})


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
