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

# FACS action unit -> ICT expression shapes (from the ICT-FaceKit documentation); paired shapes are (left, right)
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
    14: ("mouthDimple_L", "mouthDimple_R"),
    15: ("mouthFrown_L", "mouthFrown_R"),
    16: ("mouthLowerDown_L", "mouthLowerDown_R"),
    17: ("mouthShrugLower",),
    18: ("mouthPucker",),
    20: ("mouthStretch_L", "mouthStretch_R"),
    22: ("mouthFunnel",),
    24: ("mouthPress_L", "mouthPress_R"),
    26: ("jawOpen",),
    28: ("mouthRollLower",),
    29: ("jawForward",),
    33: ("cheekPuff_L", "cheekPuff_R"),
    45: ("eyeBlink_L", "eyeBlink_R"),
}
# Units that belong to no emotion recipe here: talking, blinking, chewing. They are mixed in as distractors.
DISTRACTOR_UNITS = (14, 18, 22, 28, 29, 33, 45)


@dataclass(frozen=True)
class Recipe:
    """One way to make an emotion: action unit -> activation at full intensity. `split` says who may use it:
    "train" recipes make training faces; "heldout" recipes are kept for validation and testing, so that a
    score on them measures recognition of a new way to make the emotion."""

    name: str
    units: dict[int, float]
    split: str = "train"


# EMFACS prototypes and common variants (AU23 has no shape, AU24 stands in; AU25 "lips part" is a little
# AU16/AU26). The first recipe of each emotion is its prototype.
EMOTION_RECIPES: dict[str, tuple[Recipe, ...]] = {
    "anger": (
        Recipe("prototype", {4: 1.0, 5: 0.5, 7: 0.8, 24: 0.8, 17: 0.4}),
        Recipe("pressed lips", {4: 1.0, 7: 0.9, 24: 1.0}),
        Recipe("open mouth", {4: 0.9, 5: 0.7, 7: 0.6, 10: 0.7, 16: 0.5, 26: 0.4}),
        Recipe("chin raise", {4: 1.0, 5: 0.6, 7: 0.5, 17: 0.8, 24: 0.5}, "heldout"),
    ),
    "disgust": (
        Recipe("prototype", {9: 1.0, 10: 0.8, 15: 0.4, 17: 0.5}),
        Recipe("nose wrinkle", {9: 1.0, 7: 0.5, 4: 0.4, 16: 0.3}),
        Recipe("upper lip raise", {10: 1.0, 11: 0.6, 17: 0.6, 15: 0.3}),
        Recipe("lower lip down", {9: 0.8, 10: 0.6, 16: 0.5, 26: 0.2, 4: 0.3}, "heldout"),
    ),
    "fear": (
        Recipe("prototype", {1: 0.8, 2: 0.6, 4: 0.6, 5: 1.0, 7: 0.3, 20: 0.9, 26: 0.3}),
        Recipe("closed mouth", {1: 1.0, 2: 0.8, 4: 0.5, 5: 1.0, 20: 0.6}),
        Recipe("stretched mouth", {1: 0.7, 4: 0.7, 5: 0.8, 20: 1.0, 26: 0.5, 16: 0.3}),
        Recipe("lips part", {1: 0.9, 2: 0.5, 4: 0.6, 5: 0.9, 20: 0.8, 16: 0.4}, "heldout"),
    ),
    "happiness": (
        Recipe("prototype", {6: 0.9, 12: 1.0, 26: 0.15}),
        Recipe("social smile", {12: 1.0}),
        Recipe("laugh", {6: 1.0, 12: 1.0, 26: 0.5, 16: 0.3}),
        Recipe("lips part", {6: 0.8, 12: 0.9, 16: 0.3}, "heldout"),
    ),
    "sadness": (
        Recipe("prototype", {1: 1.0, 4: 0.6, 15: 1.0, 17: 0.6}),
        Recipe("brows", {1: 1.0, 4: 0.8, 15: 0.8}),
        Recipe("mouth", {6: 0.4, 15: 1.0, 17: 0.8, 4: 0.3}),
        Recipe("upper lip", {1: 0.8, 15: 0.9, 17: 0.4, 11: 0.3, 4: 0.4}, "heldout"),
    ),
    "surprise": (
        Recipe("prototype", {1: 1.0, 2: 1.0, 5: 0.9, 26: 0.8}),
        Recipe("no jaw drop", {1: 1.0, 2: 1.0, 5: 0.8}),
        Recipe("jaw drop", {1: 0.8, 2: 0.9, 26: 1.0}),
        Recipe("lips part", {1: 1.0, 2: 0.8, 5: 0.6, 26: 0.5, 16: 0.2}, "heldout"),
    ),
    "neutral": (Recipe("prototype", {}), Recipe("relaxed", {}, "heldout")),
}
EMOTION_PROTOTYPES: dict[str, dict[int, float]] = {emotion: recipes[0].units for emotion, recipes in EMOTION_RECIPES.items()}
RECIPE_SPLITS = ("train", "heldout")
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
    """How far one synthetic face strays from its recipe and from a clean model face, so that the task is not
    trivially separable and the faces look like scans.

    Lengths are in the model's units (centimetres); angles in degrees; every spread is a standard deviation.
    """

    intensity_jitter: float = 0.2  # multiplicative spread of each action unit's activation
    asymmetry: float = 0.25  # spread of the left/right imbalance of paired shapes
    extra_unit_rate: float = 0.6  # expected number of extra action units per face (distractors or weak others)
    extra_unit_max: float = 0.35  # a distractor's activation is uniform in (0, max); another emotion's unit half
    head_pose: float = 4.0  # yaw, pitch and roll spread
    scan_noise: float = 0.02  # per-vertex Gaussian noise
    crop_probability: float = 0.25  # chance that a plane cuts off part of the face
    crop_max_fraction: float = 0.2  # at most this fraction of the face's depth along the cut direction
    region_crop_probability: float = 0.0  # chance that only a face region (a rough ellipsoid) is kept
    hole_rate: float = 0.0  # expected number of holes (missing patches, as under specular or dark skin)


NO_VARIATION = Variation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
DEFAULT_VARIATION = Variation()
# Training faces that look like scans: face regions of random extent with rough borders, holes, cut chins
# and foreheads, poses up to about +-15 degrees; a third of them stay whole heads.
SCAN_VARIATION = Variation(intensity_jitter=0.25, asymmetry=0.25, extra_unit_rate=0.8, extra_unit_max=0.4,
                           head_pose=6.0, scan_noise=0.03, crop_probability=0.3, crop_max_fraction=0.25,
                           region_crop_probability=0.65, hole_rate=0.7)


@dataclass(frozen=True)
class Expression:
    """What a face shows: an emotion made by one recipe at a level (0..1 of the recipe's full activation)."""

    emotion: str
    recipe: Recipe
    level: float

    @property
    def intensity(self) -> int:
        """The nearest BU-3DFE intensity level 1..4 (0 for neutral), for file names and prompts."""
        return 0 if self.emotion == "neutral" else int(np.clip(round(self.level * 4), 1, 4))


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


def prototype_expression(emotion: str, intensity: int | None = None) -> Expression:
    """An emotion's prototype recipe at BU-3DFE intensity 1..4 (default 4; neutral: 0)."""
    intensity = _checked_intensity(emotion, intensity)
    return Expression(emotion, EMOTION_RECIPES[emotion][0], INTENSITY_SCALE.get(intensity, 0.0))


def draw_expression(emotion: str, split: str, rng: np.random.Generator,
                    levels: tuple[float, float] = (0.55, 1.0)) -> Expression:
    """A random recipe of `emotion` among those of `split` ("train" or "heldout") at a uniform random level."""
    if split not in RECIPE_SPLITS:
        raise ValueError(f"recipe split must be one of {RECIPE_SPLITS}, got {split!r}")
    _checked_intensity(emotion, None)
    recipes = [recipe for recipe in EMOTION_RECIPES[emotion] if recipe.split == split]
    level = 0.0 if emotion == "neutral" else float(rng.uniform(*levels))
    return Expression(emotion, recipes[int(rng.integers(len(recipes)))], level)


def _shape_index(name: str) -> int:
    return face_model().expression_names.index(name)


def _extra_units(units: dict[int, float], variation: Variation, rng: np.random.Generator) -> dict[int, float]:
    """A few action units the recipe does not use: distractors up to `extra_unit_max`, others' weaker."""
    candidates = [unit for unit in ACTION_UNIT_SHAPES if unit not in units]
    count = min(rng.poisson(variation.extra_unit_rate), len(candidates))
    extra = {}
    for unit in rng.choice(candidates, size=count, replace=False):
        ceiling = variation.extra_unit_max * (1.0 if int(unit) in DISTRACTOR_UNITS else 0.5)
        extra[int(unit)] = float(rng.uniform(0.0, ceiling))
    return extra


def recipe_weights(expression: Expression, variation: Variation = NO_VARIATION,
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Weights of the 53 expression shapes for an expression.

    With a variation and a generator, each action unit's activation is jittered, paired left/right shapes
    are made unequal, and a few unrelated action units are mixed in weakly.
    """
    rng = rng or np.random.default_rng(0)
    weights = np.zeros(len(face_model().expression_names), dtype=np.float32)
    units = {unit: activation * expression.level for unit, activation in expression.recipe.units.items()}
    if variation.extra_unit_rate > 0:
        units.update(_extra_units(units, variation, rng))
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


def expression_weights(
    emotion: str, intensity: int | None = None, variation: Variation = NO_VARIATION, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Weights of the 53 expression shapes for an emotion's prototype at intensity 1..4 (neutral: 0)."""
    return recipe_weights(prototype_expression(emotion, intensity), variation, rng)


def identity_coefficients(seed: int, count: int = 100) -> np.ndarray:
    """Identity coefficients a ~ N(0, 1) for one synthetic subject; disjoint seeds give different people."""
    return np.random.default_rng(seed).standard_normal(count).astype(np.float32)


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation matrix from degrees: yaw about y, pitch about x, roll about z."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return (ry @ rx @ rz).astype(np.float32)


def _plane_cut(vertices: np.ndarray, rng: np.random.Generator, max_fraction: float) -> np.ndarray:
    """Which vertices a random plane near the border keeps, as a scanner's field of view or hair would cut."""
    direction = rng.standard_normal(3) * np.array([1.0, 1.0, 0.2])  # mostly sideways/up/down, not depth
    direction /= np.linalg.norm(direction)
    depth = vertices @ direction
    low, high = depth.min(), depth.max()
    return depth < high - rng.uniform(0.05, max_fraction) * (high - low)


def _face_region(vertices: np.ndarray, nose: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which vertices a face-region scan keeps: a rough ellipsoid around the nose tip, 6-11 cm across each
    way and 5-12 cm deep, its border wobbling as a scan's does."""
    offset = vertices - nose
    radii = np.array([rng.uniform(6.5, 10.5), 0.0, rng.uniform(5.0, 12.0)])
    up, down = rng.uniform(6.5, 10.5), rng.uniform(7.5, 11.0)
    radii_y = np.where(offset[:, 1] > 0, up, down)
    scaled = (offset[:, 0] / radii[0]) ** 2 + (offset[:, 1] / radii_y) ** 2 + (offset[:, 2] / radii[2]) ** 2
    angle = np.arctan2(offset[:, 1], offset[:, 0])
    wobble = sum(rng.uniform(0, 0.08) * np.sin(k * angle + rng.uniform(0, 2 * np.pi)) for k in (3, 5, 9))
    return scaled < (1.0 + wobble) ** 2


def _holes(vertices: np.ndarray, nose: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Which vertices survive a few holes of 0.4-1.5 cm radius placed on the face (not on the nose tip)."""
    keep = np.ones(len(vertices), dtype=bool)
    near_face = np.flatnonzero(np.linalg.norm(vertices - nose, axis=1) < 9.0)
    for _ in range(rng.poisson(rate)):
        centre = vertices[near_face[rng.integers(len(near_face))]]
        if np.linalg.norm(centre - nose) < 1.5:
            continue
        keep &= np.linalg.norm(vertices - centre, axis=1) > rng.uniform(0.4, 1.5)
    return keep


def _scan_mask(vertices: np.ndarray, variation: Variation, rng: np.random.Generator) -> np.ndarray | None:
    """The vertices a simulated scan keeps (region, plane cut, holes), or None when it keeps them all."""
    nose = vertices[face_model().landmarks68[30]]
    keep = np.ones(len(vertices), dtype=bool)
    if variation.region_crop_probability > 0 and rng.random() < variation.region_crop_probability:
        keep &= _face_region(vertices, nose, rng)
    if variation.crop_probability > 0 and rng.random() < variation.crop_probability:
        keep &= _plane_cut(vertices, rng, variation.crop_max_fraction)
    if variation.hole_rate > 0:
        keep &= _holes(vertices, nose, rng, variation.hole_rate)
    return None if keep.all() else keep


def _pose_and_scan(
    vertices: np.ndarray, variation: Variation, rng: np.random.Generator, pose: tuple[float, float, float] | None
) -> np.ndarray:
    """Rotate about the face's centre by a small head pose, then add scanner noise."""
    pose = pose if pose is not None else tuple(variation.head_pose * rng.standard_normal(3))
    centre = vertices.mean(axis=0)
    vertices = (vertices - centre) @ rotation_matrix(*pose).T + centre
    if variation.scan_noise > 0:
        vertices = vertices + variation.scan_noise * rng.standard_normal(vertices.shape)
    return vertices.astype(np.float32)


def _cropped_mesh(vertices: np.ndarray, keep: np.ndarray | None, source: str, metadata: dict) -> FaceMesh:
    """The FaceMesh of the model's vertices with its landmarks, cut to the `keep` mask when there is one
    (landmarks on cut-away parts are dropped; `landmark_ids` says which of the 68 remain)."""
    model = face_model()
    triangles, landmarks = model.triangles, vertices[model.landmarks68]
    if keep is not None:
        triangles = triangles[keep[triangles].all(axis=1)]
        used = np.unique(triangles)
        remap = np.full(len(vertices), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        vertices, triangles = vertices[used], remap[triangles]
        kept = remap[model.landmarks68] >= 0
        landmarks = landmarks[kept]
        metadata = {**metadata, "cropped": True, "landmark_ids": np.flatnonzero(kept).tolist()}
    return FaceMesh(vertices=vertices, faces=triangles, landmarks=landmarks, source=source, metadata=metadata)


def _identity(subject_seed: int) -> np.ndarray:
    model = face_model()
    return model.neutral + np.tensordot(
        identity_coefficients(subject_seed, model.identity_deltas.shape[0]), model.identity_deltas, axes=1
    )


def synthesize_expression(
    subject_seed: int, expression: Expression, variation: Variation = NO_VARIATION, sample_seed: int = 0
) -> FaceMesh:
    """One synthetic face of subject `subject_seed` showing `expression`, with its landmarks and metadata.

    The identity depends only on `subject_seed`; the per-face variation is drawn from (subject_seed,
    expression, sample_seed), so every face is reproducible on its own.
    """
    rng = np.random.default_rng([subject_seed, EMOTION_ORDER.index(expression.emotion), expression.intensity,
                                 sample_seed, int(expression.level * 1e6), sum(map(ord, expression.recipe.name))])
    weights = recipe_weights(expression, variation, rng)
    vertices = _identity(subject_seed) + np.tensordot(weights, face_model().expression_deltas, axes=1)
    metadata = {"subject": subject_seed, "emotion": expression.emotion, "intensity": expression.intensity,
                **subject_attributes(subject_seed)}
    if expression.recipe is not EMOTION_RECIPES[expression.emotion][0] or expression.level not in INTENSITY_SCALE.values():
        metadata.update(recipe=expression.recipe.name, level=round(expression.level, 4))
    source = f"<synthetic subject {subject_seed} {expression.emotion} {expression.intensity}>"
    keep = _scan_mask(vertices, variation, rng)  # decided on the unposed face: the same region on every head
    return _cropped_mesh(_pose_and_scan(vertices, variation, rng, pose=None), keep, source, metadata)


def synthesize_face(
    subject_seed: int,
    emotion: str,
    intensity: int | None = None,
    variation: Variation = NO_VARIATION,
    sample_seed: int = 0,
) -> FaceMesh:
    """One synthetic face showing an emotion's prototype at intensity 1..4 (default 4; neutral: 0)."""
    return synthesize_expression(subject_seed, prototype_expression(emotion, intensity), variation, sample_seed)


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
    identity = _identity(subject_seed)
    apex_weights = expression_weights(emotion, intensity, variation, rng)
    start_pose = variation.head_pose * rng.standard_normal(3)
    drift = 0.3 * variation.head_pose * rng.standard_normal(3)
    keep = _scan_mask(identity, variation, np.random.default_rng(int(rng.integers(2**31))))
    attributes = subject_attributes(subject_seed)
    frames = []
    for frame, (phase, level) in enumerate(expression_envelope(num_frames)):
        vertices = identity + np.tensordot(level * apex_weights, model.expression_deltas, axes=1)
        pose = tuple(start_pose + drift * frame / max(num_frames - 1, 1))
        vertices = _pose_and_scan(vertices, variation, rng, pose=pose)
        metadata = {"subject": subject_seed, "emotion": emotion, "intensity": intensity, "frame": frame,
                    "time_s": frame / fps, "phase": phase, "expression_level": level, **attributes}
        source = f"<synthetic subject {subject_seed} {emotion} frame {frame}>"
        frames.append(_cropped_mesh(vertices, keep, source, metadata))
    return frames


__all__ = [
    "AGE_GROUPS", "DEFAULT_VARIATION", "EMOTION_ORDER", "EMOTION_PROTOTYPES", "EMOTION_RECIPES", "ETHNICITY_CODES",
    "GENDERS", "NO_VARIATION", "RECIPE_SPLITS", "SCAN_VARIATION", "SEQUENCE_PHASES", "Expression", "Recipe",
    "Variation", "draw_expression", "expression_envelope", "expression_weights", "face_model",
    "identity_coefficients", "prototype_expression", "recipe_weights", "subject_attributes", "synthesize_expression",
    "synthesize_face", "synthesize_sequence",
]
