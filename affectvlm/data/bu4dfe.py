"""BU-4DFE (Binghamton University 4D Facial Expression database): scanner.

Layout: `<root>/<subject>/<Expression>/<NNN>.wrl`, e.g. `F001/Happy/000.wrl ... 099.wrl`, where
  - subject: F001... (female) or M001... (male);
  - Expression: Angry, Disgust, Fear, Happy, Sad, Surprise (one posed sequence each, neutral -> apex ->
    neutral, about 100 frames at 25 frames per second; no intensity levels, no neutral sequence);
  - each frame is a VRML 2.0 mesh whose ImageTexture names its own texture image (`NNN.jpg`, like the
    database's 2D frames `F001/Happy/000.jpg`);
  - landmarks: 83 points per frame as `NNN.bnd`. The database ships them as a separate download
    (BU4DFE_BND_V1.1, with the same subject/expression/frame tree): point `landmarks_root` at it; by default
    they are looked for next to the frames.
Folders not named like a subject are passed over; an unknown expression folder is a reported problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .samples import FaceSample, ReadProblems
from .scanning import GENDER_OF_LETTER, TEXTURE_SUFFIXES, companion, frame_files

DATASET = "BU-4DFE"
EXPRESSION_FOLDERS = {"Angry": "anger", "Disgust": "disgust", "Fear": "fear", "Happy": "happiness",
                      "Sad": "sadness", "Surprise": "surprise"}
FRAMES_PER_SECOND = 25.0
_SUBJECT = re.compile(r"[FM]\d{3}")


def _sample(folder: Path, subject: str, landmarks_folder: Path, fps: float, problems: ReadProblems
            ) -> FaceSample | None:
    """The sequence in one expression folder, or None (reported) when it is unknown or holds no frames."""
    if folder.name not in EXPRESSION_FOLDERS:
        problems.report(f"{folder}: unknown expression folder {folder.name!r}; expected one of "
                        f"{', '.join(EXPRESSION_FOLDERS)}")
        return None
    frames = frame_files(folder, ".wrl", problems)
    if not frames:
        problems.report(f"{folder}: holds no .wrl frames")
        return None
    metadata = {"dataset": DATASET, "expression_folder": folder.name, "gender": GENDER_OF_LETTER[subject[0]],
                "frame_count": len(frames), "fps": fps}
    landmarks = [companion(landmarks_folder / frame.name, (".bnd",)) for frame in frames]
    if any(landmarks):
        metadata["landmarks_files"] = landmarks
    textures = [companion(frame, TEXTURE_SUFFIXES) for frame in frames]
    if any(textures):
        metadata["texture_files"] = textures
    return FaceSample(files=tuple(str(frame) for frame in frames), label=EXPRESSION_FOLDERS[folder.name],
                      subject=subject, metadata=metadata)


def scan(root: Path, problems: ReadProblems, landmarks_root: str | Path | None = None,
         fps: float = FRAMES_PER_SECOND) -> Iterator[FaceSample]:
    """BU-4DFE sequences under `root`, one per subject and expression folder, in sorted order."""
    landmarks_base = root if landmarks_root is None else Path(landmarks_root)
    for subject_folder in sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        for folder in sorted(p for p in subject_folder.iterdir() if p.is_dir()):
            landmarks_folder = landmarks_base / subject_folder.name / folder.name
            sample = _sample(folder, subject_folder.name, landmarks_folder, fps, problems)
            if sample is not None:
                yield sample
