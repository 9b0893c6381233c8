"""BU-4DFE (Binghamton University 4D Facial Expression database): scanner and synthetic writer.

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
The synthetic writer stores frames in millimetres with a baked texture each and 83 landmarks per frame (see
`bu3dfe.bnd_landmarks`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..io.landmarks import write_bnd
from ..io.scan import textured_scan
from ..io.vrml import write_vrml
from .bu3dfe import GENDER_OF_LETTER, bnd_landmarks, gendered_subject_ids
from .samples import FaceSample, ReadProblems
from .synthetic import synthesize_sequence

if TYPE_CHECKING:
    from ..io.output import OutputFolder
    from .layouts import SyntheticRequest

DATASET = "BU-4DFE"
EXPRESSION_FOLDERS = {"Angry": "anger", "Disgust": "disgust", "Fear": "fear", "Happy": "happiness",
                      "Sad": "sadness", "Surprise": "surprise"}
FOLDER_OF_EMOTION = {emotion: folder for folder, emotion in EXPRESSION_FOLDERS.items()}
FRAMES_PER_SECOND = 25.0
TEXTURE_SUFFIXES = (".jpg", ".bmp", ".png")
_SUBJECT = re.compile(r"[FM]\d{3}")


def subject_ids(genders: Sequence[str]) -> list[str]:
    return gendered_subject_ids(genders, 3)


def frame_files(folder: Path, suffix: str, problems: ReadProblems) -> list[Path]:
    """The frames (files with `suffix` and a numeric name) of a sequence folder in frame order; a frame with
    another name or an empty file is reported and left out."""
    frames = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix and p.is_file()):
        if not path.stem.isdigit():
            problems.report(f"{path}: frame name is not a frame number")
        elif path.stat().st_size == 0:
            problems.report(f"{path}: file is empty")
        else:
            frames.append(path)
    return sorted(frames, key=lambda path: int(path.stem))


def companion(path: Path, suffixes: Sequence[str]) -> str | None:
    """The first existing file with `path`'s stem and one of `suffixes`, as a string."""
    for suffix in suffixes:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return str(candidate)
    return None


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


def write_subject(
    out: OutputFolder, subject: str, subject_seed: int, request: SyntheticRequest
) -> list[FaceSample]:
    """Write one synthetic subject's sequences (one per emotion, full intensity) in BU-4DFE's layout."""
    samples = []
    for emotion in request.emotions:
        frames = synthesize_sequence(subject_seed, emotion, request.frames, request.fps,
                                     variation=request.variation, sample_seed=request.sample_seed)
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
