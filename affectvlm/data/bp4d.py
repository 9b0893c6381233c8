"""BP4D-Spontaneous and BP4D+ (Binghamton-Pittsburgh 4D spontaneous expression databases): scanner.

Layout: `<root>/<subject>/<task>/<frame>.obj`, each frame with its texture (`<frame>.jpg`, referenced by
`<frame>.mtl`), e.g. `F001/T1/0000.obj`; subject F001... (female) / M001... (male); task T1..T8
(BP4D-Spontaneous) or T1..T10 (BP4D+). The per-subject, per-task tree is the databases' own (their archives
unpack to `F001/T1/...`); the frame file names are not known to us, so any numeric name is accepted and the
writer uses four digits. Frames were captured at 25 per second.

Each task was designed to elicit one emotion. A sequence's label is that emotion where it is one of ours, and
None where it is not (embarrassment, pain, skepticism). The tables below follow the databases' papers (Zhang
et al., Image and Vision Computing 2014, for BP4D-Spontaneous; Zhang et al., CVPR 2016, for BP4D+); the
elicited emotion is the designers' intent, not an annotation of each frame. Override a task's label with
`task_emotions={"T4": "happiness", "T6": None}`; listed tasks not in the table are then accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from .emotions import EMOTIONS_WITH_NEUTRAL
from .samples import FaceSample, ReadProblems
from .scanning import GENDER_OF_LETTER, TEXTURE_SUFFIXES, companion, frame_files

BP4D_SPONTANEOUS, BP4D_PLUS = "BP4D-Spontaneous", "BP4D+"  # the datasets' names, in metadata and reports
# task -> (label or None, how the emotion was elicited)
BP4D_SPONTANEOUS_TASKS: dict[str, tuple[str | None, str]] = {
    "T1": ("happiness", "amusement: talk with the experimenter, listen to a joke"),
    "T2": ("sadness", "sadness: watch and discuss a documentary"),
    "T3": ("surprise", "surprise or startle: a sudden burst of sound"),
    "T4": (None, "embarrassment: improvise a silly song"),
    "T5": ("fear", "fear or nervousness: anticipate a physical threat"),
    "T6": (None, "physical pain: submerge a hand in ice water"),
    "T7": ("anger", "anger or upset: an experimenter's insults"),
    "T8": ("disgust", "disgust: smell an unpleasant odour"),
}
BP4D_PLUS_TASKS: dict[str, tuple[str | None, str]] = {
    "T1": ("happiness", "happiness or amusement: listen to a funny joke"),
    "T2": ("surprise", "surprise: watch a 3D avatar of oneself"),
    "T3": ("sadness", "sadness: listen to a 911 emergency call"),
    "T4": ("surprise", "startle or surprise: a sudden burst of sound"),
    "T5": (None, "skepticism: answer a true-or-false question"),
    "T6": (None, "embarrassment: improvise a silly song"),
    "T7": ("fear", "fear or nervousness: a dart game with a threat"),
    "T8": (None, "physical pain: submerge hands in ice water"),
    "T9": ("anger", "anger or upset: be blamed for poor performance"),
    "T10": ("disgust", "disgust: smell an unpleasant odour"),
}
FRAMES_PER_SECOND = 25.0
_SUBJECT = re.compile(r"[FM]\d{3}")


def elicited_emotions(tasks: Mapping[str, tuple[str | None, str]]) -> tuple[str, ...]:
    """The emotions a task table elicits, in the project's order."""
    return tuple(emotion for emotion in EMOTIONS_WITH_NEUTRAL if any(label == emotion for label, _ in tasks.values()))


def task_labels(tasks: Mapping[str, tuple[str | None, str]], task_emotions: Mapping[str, str | None] | None
                ) -> dict[str, str | None]:
    """The task -> label table: the dataset's defaults with the user's overrides."""
    labels = {task: label for task, (label, _) in tasks.items()}
    for task, label in (task_emotions or {}).items():
        if label is not None and label not in EMOTIONS_WITH_NEUTRAL:
            raise ValueError(f"task_emotions[{task!r}] = {label!r} is not an emotion; expected one of "
                             f"{', '.join(EMOTIONS_WITH_NEUTRAL)} or None")
        labels[task] = label
    return labels


def _task_order(folder: Path) -> tuple[int, str]:
    """T2 before T10; other names after, alphabetically."""
    digits = folder.name[1:]
    return (int(digits), folder.name) if folder.name[:1] == "T" and digits.isdigit() else (10**9, folder.name)


def scan(root: Path, problems: ReadProblems, tasks: Mapping[str, tuple[str | None, str]], dataset: str,
         task_emotions: Mapping[str, str | None] | None = None, fps: float = FRAMES_PER_SECOND
         ) -> Iterator[FaceSample]:
    """One sequence per subject and task folder, in subject and task order (a bad override fails at once)."""
    return _sequences(root, problems, tasks, task_labels(tasks, task_emotions), dataset, fps)


def _sequences(root: Path, problems: ReadProblems, tasks: Mapping[str, tuple[str | None, str]],
               labels: Mapping[str, str | None], dataset: str, fps: float) -> Iterator[FaceSample]:
    for subject_folder in sorted(p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        subject = subject_folder.name
        for folder in sorted((p for p in subject_folder.iterdir() if p.is_dir()), key=_task_order):
            if folder.name not in labels:
                problems.report(f"{folder}: unknown task {folder.name!r}; {dataset} has {', '.join(labels)} "
                                "(add others with task_emotions)")
                continue
            frames = frame_files(folder, ".obj", problems)
            if not frames:
                problems.report(f"{folder}: holds no .obj frames")
                continue
            metadata = {"dataset": dataset, "task": folder.name, "gender": GENDER_OF_LETTER[subject[0]],
                        "frame_count": len(frames), "fps": fps}
            if folder.name in tasks:
                metadata["elicitation"] = tasks[folder.name][1]
            textures = [companion(frame, TEXTURE_SUFFIXES) for frame in frames]
            if any(textures):
                metadata["texture_files"] = textures
            yield FaceSample(files=tuple(str(frame) for frame in frames), label=labels[folder.name],
                             subject=subject, metadata=metadata)
