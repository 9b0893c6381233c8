"""Bosphorus 3D face database: scanner.

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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .samples import FaceSample, ReadProblems
from .scanning import match_name, scan_companions

DATASET = "Bosphorus"
EMOTION_CODES = {"ANGER": "anger", "DISGUST": "disgust", "FEAR": "fear", "HAPPY": "happiness",
                 "SADNESS": "sadness", "SURPRISE": "surprise"}
CATEGORIES = {"E": "emotion", "N": "neutral", "LFAU": "action_unit", "UFAU": "action_unit", "CAU": "action_unit",
              "YR": "pose", "PR": "pose", "CR": "pose", "O": "occlusion", "IGN": "ignored"}
_SUBJECT = re.compile(r"bs\d{3}")
_NAME = re.compile(r"(?P<subject>bs\d{3})_(?P<kind>[A-Z]+)_(?P<code>[A-Za-z0-9]+)_(?P<take>\d+)")


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
    match = match_name(_NAME, path, "Bosphorus's <subject>_<CLASS>_<CODE>_<N>.bnt (e.g. bs000_E_HAPPY_0.bnt)",
                       problems)
    if match is None:
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
    companions = scan_companions(path, ".lm3", ".png", require_landmarks, problems)
    if companions is None:
        return None
    return FaceSample(files=(str(path),), label=label, subject=folder, metadata={**metadata, **companions})


def scan(root: Path, problems: ReadProblems, emotions_only: bool = False, require_landmarks: bool = False
         ) -> Iterator[FaceSample]:
    """Bosphorus scans under `root`, subject by subject, file by file, in sorted order."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".bnt" and p.is_file()):
            sample = _sample(path, folder.name, emotions_only, require_landmarks, problems)
            if sample is not None:
                yield sample
