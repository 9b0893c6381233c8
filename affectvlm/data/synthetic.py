"""Synthetic 3D faces with known emotions, from the ICT Face Model Light and FACS action-unit prototypes.

A face is `neutral + identity_deltas . a + expression_deltas . w`: identity coefficients a ~ N(0, 1) from a
seed, expression weights w from the emotion's action units (EMFACS prototypes) scaled by intensity. These are
animation shapes, the same for every identity: a stand-in for scanned emotion data, never a substitute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..model.meshes_affectvlm import FaceMesh

# FACS action unit -> ICT expression shapes (from the ICT-FaceKit documentation)
ACTION_UNIT_SHAPES: dict[int, tuple[str, ...]] = {
    1: ("browInnerUp_L", "browInnerUp_R"),
    2: ("browOuterUp_L", "browOuterUp_R"),
    4: ("browDown_L", "browDown_R"),
    5: ("eyeWide_L", "eyeWide_R"),
    6: ("cheekSquint_L", "cheekSquint_R"),
    7: ("eyeSquint_L", "eyeSquint_R"),
    9: ("noseSneer_L", "noseSneer_R"),
    10: ("mouthShrugUpper",),
    11: ("mouthUpperUp_L", "mouthUpperUp_R"),
    12: ("mouthSmile_L", "mouthSmile_R"),
    15: ("mouthFrown_L", "mouthFrown_R"),
    16: ("mouthLowerDown_L", "mouthLowerDown_R"),
    17: ("mouthShrugLower",),
    20: ("mouthStretch_L", "mouthStretch_R"),
    24: ("mouthPress_L", "mouthPress_R"),
    26: ("jawOpen",),
}

# EMFACS prototypes (action unit -> activation at full intensity); AU23 has no shape, AU24 stands in.
EMOTION_PROTOTYPES: dict[str, dict[int, float]] = {
    "anger": {4: 1.0, 5: 0.5, 7: 0.8, 24: 0.8, 17: 0.4},
    "disgust": {9: 1.0, 10: 0.8, 15: 0.4, 17: 0.5},
    "fear": {1: 0.8, 2: 0.6, 4: 0.6, 5: 1.0, 7: 0.3, 20: 0.9, 26: 0.3},
    "happiness": {6: 0.9, 12: 1.0, 26: 0.15},
    "sadness": {1: 1.0, 4: 0.6, 15: 1.0, 17: 0.6},
    "surprise": {1: 1.0, 2: 1.0, 5: 0.9, 26: 0.8},
    "neutral": {},
}
INTENSITY_SCALE = {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}
EMOTION_ORDER = tuple(EMOTION_PROTOTYPES)


@dataclass(frozen=True)
class FaceModel:
    """The ICT face-only model as arrays (units: centimetres; y up, +z towards the viewer)."""

    neutral: np.ndarray
    identity_deltas: np.ndarray
    expression_deltas: np.ndarray
    expression_names: tuple[str, ...]
    triangles: np.ndarray
    landmarks68: np.ndarray


@lru_cache(maxsize=1)
def face_model() -> FaceModel:
    """Load the vendored ICT face-only model once per process."""
    path = resources.files("affectvlm.assets.ict_face_model").joinpath("ict_face_only_9409.npz")
    with path.open("rb") as handle, np.load(handle) as data:
        return FaceModel(
            neutral=data["neutral"],
            identity_deltas=data["identity_deltas"],
            expression_deltas=data["expression_deltas"],
            expression_names=tuple(str(name) for name in data["expression_names"]),
            triangles=data["triangles"].astype(np.int64),
            landmarks68=data["landmarks68"],
        )


# Synthetic attributes for prompts and file names. They are labels drawn from the subject seed,
# independent of the geometry: the ICT identity modes do not encode age, sex or ancestry.
GENDERS = ("female", "male")
AGE_GROUPS = ("young", "middle-aged", "older")
ETHNICITY_CODES = ("WH", "BL", "AE", "AM", "LA", "IN")  # BU-3DFE's codes


@dataclass(frozen=True)
class Variation:
    """How far one synthetic face strays from its emotion's prototype, so the task is not trivially separable.

    Lengths are in the model's units (centimetres); angles in degrees; every spread is a standard deviation.
    """

    intensity_jitter: float = 0.2  # multiplicative spread of each action unit's activation
    asymmetry: float = 0.25  # spread of the left/right imbalance of paired shapes
    extra_unit_rate: float = 0.6  # expected number of extra, unrelated action units per face
    extra_unit_max: float = 0.35  # their activation is uniform in (0, extra_unit_max)
    head_pose: float = 4.0  # yaw, pitch and roll spread
    scan_noise: float = 0.02  # per-vertex Gaussian noise
    crop_probability: float = 0.25  # chance that a plane cuts off part of the face
    crop_max_fraction: float = 0.2  # at most this fraction of the face's depth along the cut direction


NO_VARIATION = Variation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
DEFAULT_VARIATION = Variation()


def subject_attributes(subject_seed: int) -> dict[str, str]:
    """Gender, age group and ethnicity code of a synthetic subject, fixed by its seed."""
    rng = np.random.default_rng([subject_seed, 7])
    return {
        "gender": str(rng.choice(GENDERS)),
        "age_group": str(rng.choice(AGE_GROUPS)),
        "ethnicity": str(rng.choice(ETHNICITY_CODES)),
    }


def _checked_intensity(emotion: str, intensity: int | None) -> int:
    """The intensity to use: 1..4 for an emotion (default 4), 0 for neutral."""
    if emotion not in EMOTION_PROTOTYPES:
        raise ValueError(f"unknown emotion {emotion!r}; known: {sorted(EMOTION_PROTOTYPES)}")
    allowed = (0,) if emotion == "neutral" else tuple(INTENSITY_SCALE)
    if intensity is None:
        return allowed[-1]
    if intensity not in allowed:
        raise ValueError(f"intensity of {emotion} must be one of {allowed}, got {intensity}")
    return intensity


def _shape_index(name: str) -> int:
    return face_model().expression_names.index(name)


def expression_weights(
    emotion: str, intensity: int | None = None, variation: Variation = NO_VARIATION, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Weights of the 53 expression shapes for an emotion's prototype at intensity 1..4 (neutral: 0).

    With a variation and a generator, each action unit's activation is jittered, paired left/right shapes
    are made unequal, and a few unrelated action units are mixed in weakly.
    """
    intensity = _checked_intensity(emotion, intensity)
    rng = rng or np.random.default_rng(0)
    weights = np.zeros(len(face_model().expression_names), dtype=np.float32)
    scale = INTENSITY_SCALE.get(intensity, 0.0)
    units = {unit: activation * scale for unit, activation in EMOTION_PROTOTYPES[emotion].items()}
    if variation.extra_unit_rate > 0:
        candidates = [unit for unit in ACTION_UNIT_SHAPES if unit not in units]
        for unit in rng.choice(candidates, size=min(rng.poisson(variation.extra_unit_rate), len(candidates)),
                               replace=False):
            units[int(unit)] = float(rng.uniform(0.0, variation.extra_unit_max))
    for unit, activation in units.items():
        activation *= max(0.0, 1.0 + variation.intensity_jitter * rng.standard_normal())
        shapes = ACTION_UNIT_SHAPES[unit]
        if len(shapes) == 2:  # (left, right): tilt the activation towards one side
            tilt = variation.asymmetry * rng.standard_normal()
            sides = (1.0 + tilt, 1.0 - tilt)
        else:
            sides = (1.0,)
        for shape, side in zip(shapes, sides):
            weights[_shape_index(shape)] = np.clip(activation * side, 0.0, 1.0)
    return weights


def identity_coefficients(seed: int, count: int = 100) -> np.ndarray:
    """Identity coefficients a ~ N(0, 1) for one synthetic subject; disjoint seeds give different people."""
    return np.random.default_rng(seed).standard_normal(count).astype(np.float32)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation matrix from degrees: yaw about y, pitch about x, roll about z."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return (ry @ rx @ rz).astype(np.float32)


def _crop(vertices: np.ndarray, triangles: np.ndarray, rng: np.random.Generator, max_fraction: float):
    """Cut the face with a random plane near its border, as a scanner's field of view or hair would.

    Returns the kept vertices, re-indexed triangles, and the old -> new index map (-1 for dropped vertices).
    """
    direction = rng.standard_normal(3) * np.array([1.0, 1.0, 0.2])  # mostly sideways/up/down, not depth
    direction /= np.linalg.norm(direction)
    depth = vertices @ direction
    low, high = depth.min(), depth.max()
    threshold = high - rng.uniform(0.05, max_fraction) * (high - low)
    kept_triangles = triangles[(depth[triangles] < threshold).all(axis=1)]
    used = np.unique(kept_triangles)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[kept_triangles], remap


def _pose_and_scan(
    vertices: np.ndarray, variation: Variation, rng: np.random.Generator, pose: tuple[float, float, float] | None
) -> np.ndarray:
    """Rotate about the face's centre by a small head pose, then add scanner noise."""
    pose = pose if pose is not None else tuple(variation.head_pose * rng.standard_normal(3))
    centre = vertices.mean(axis=0)
    vertices = (vertices - centre) @ _rotation(*pose).T + centre
    if variation.scan_noise > 0:
        vertices = vertices + variation.scan_noise * rng.standard_normal(vertices.shape)
    return vertices.astype(np.float32)


def _face_mesh(
    vertices: np.ndarray, variation: Variation, rng: np.random.Generator, source: str, metadata: dict
) -> FaceMesh:
    """Landmarks, an optional crop (landmarks on cut-away parts are dropped), and the FaceMesh."""
    model = face_model()
    triangles, landmarks = model.triangles, vertices[model.landmarks68]
    if variation.crop_probability > 0 and rng.random() < variation.crop_probability:
        vertices, triangles, remap = _crop(vertices, triangles, rng, variation.crop_max_fraction)
        kept = remap[model.landmarks68] >= 0
        landmarks = landmarks[kept]
        metadata = {**metadata, "cropped": True, "landmark_ids": np.flatnonzero(kept).tolist()}
    return FaceMesh(vertices=vertices, faces=triangles, landmarks=landmarks, source=source, metadata=metadata)


def synthesize_face(
    subject_seed: int,
    emotion: str,
    intensity: int | None = None,
    variation: Variation = NO_VARIATION,
    sample_seed: int = 0,
) -> FaceMesh:
    """One synthetic face mesh with its landmarks and metadata.

    The identity depends only on `subject_seed`; the per-face variation is drawn from
    (subject_seed, emotion, intensity, sample_seed), so every face is reproducible on its own.
    Intensity is 1..4 (default 4) for an emotion, 0 for neutral.
    """
    intensity = _checked_intensity(emotion, intensity)
    model = face_model()
    rng = np.random.default_rng([subject_seed, EMOTION_ORDER.index(emotion), intensity, sample_seed])
    coefficients = identity_coefficients(subject_seed, model.identity_deltas.shape[0])
    identity = model.neutral + np.tensordot(coefficients, model.identity_deltas, axes=1)
    weights = expression_weights(emotion, intensity, variation, rng)
    vertices = identity + np.tensordot(weights, model.expression_deltas, axes=1)
    vertices = _pose_and_scan(vertices, variation, rng, pose=None)
    metadata = {"subject": subject_seed, "emotion": emotion, "intensity": intensity, **subject_attributes(subject_seed)}
    return _face_mesh(vertices, variation, rng, f"<synthetic subject {subject_seed} {emotion} {intensity}>", metadata)


# The phases of a posed 4D expression and the share of the sequence each takes.
SEQUENCE_PHASES: tuple[tuple[str, float], ...] = (
    ("neutral", 0.1), ("onset", 0.25), ("apex", 0.3), ("offset", 0.25), ("neutral", 0.1)
)


def expression_envelope(num_frames: int) -> list[tuple[str, float]]:
    """(phase, expression level 0..1) per frame: neutral -> onset -> apex -> offset -> neutral.

    Onset and offset are smooth (half-cosine) ramps, as a posed expression rises and falls.
    """
    if num_frames < len(SEQUENCE_PHASES):
        raise ValueError(f"a sequence needs at least {len(SEQUENCE_PHASES)} frames, got {num_frames}")
    bounds = np.cumsum([0.0] + [share for _, share in SEQUENCE_PHASES])
    envelope = []
    for frame in range(num_frames):
        t = (frame + 0.5) / num_frames
        index = min(int(np.searchsorted(bounds, t, side="right")) - 1, len(SEQUENCE_PHASES) - 1)
        phase = SEQUENCE_PHASES[index][0]
        within = (t - bounds[index]) / (bounds[index + 1] - bounds[index])
        level = {"neutral": 0.0, "apex": 1.0, "onset": 0.5 - 0.5 * np.cos(np.pi * within),
                 "offset": 0.5 + 0.5 * np.cos(np.pi * within)}[phase]
        envelope.append((phase, float(level)))
    return envelope


def synthesize_sequence(
    subject_seed: int,
    emotion: str,
    num_frames: int = 25,
    fps: float = 25.0,
    intensity: int | None = None,
    variation: Variation = NO_VARIATION,
    sample_seed: int = 0,
) -> list[FaceMesh]:
    """A 4D face: `num_frames` meshes at `fps` going neutral -> onset -> apex -> offset -> neutral.

    One expression (with its variation), one head pose and one crop decision hold for the whole sequence,
    with a slow head drift and fresh scanner noise per frame, as a real 4D capture would have.
    """
    intensity = _checked_intensity(emotion, intensity)
    model = face_model()
    rng = np.random.default_rng([subject_seed, EMOTION_ORDER.index(emotion), intensity, sample_seed, 4])
    identity = model.neutral + np.tensordot(
        identity_coefficients(subject_seed, model.identity_deltas.shape[0]), model.identity_deltas, axes=1
    )
    apex_weights = expression_weights(emotion, intensity, variation, rng)
    start_pose = variation.head_pose * rng.standard_normal(3)
    drift = 0.3 * variation.head_pose * rng.standard_normal(3)
    crop_seed = int(rng.integers(2**31))
    attributes = subject_attributes(subject_seed)
    frames = []
    for frame, (phase, level) in enumerate(expression_envelope(num_frames)):
        vertices = identity + np.tensordot(level * apex_weights, model.expression_deltas, axes=1)
        pose = tuple(start_pose + drift * frame / max(num_frames - 1, 1))
        vertices = _pose_and_scan(vertices, variation, rng, pose=pose)
        metadata = {"subject": subject_seed, "emotion": emotion, "intensity": intensity, "frame": frame,
                    "time_s": frame / fps, "phase": phase, "expression_level": level, **attributes}
        source = f"<synthetic subject {subject_seed} {emotion} frame {frame}>"
        frames.append(_face_mesh(vertices, variation, np.random.default_rng(crop_seed), source, metadata))
    return frames


__all__ = [
    "AGE_GROUPS", "DEFAULT_VARIATION", "EMOTION_ORDER", "EMOTION_PROTOTYPES", "ETHNICITY_CODES", "GENDERS",
    "NO_VARIATION", "SEQUENCE_PHASES", "Variation", "expression_envelope", "expression_weights", "face_model",
    "identity_coefficients", "subject_attributes", "synthesize_face", "synthesize_sequence",
]
