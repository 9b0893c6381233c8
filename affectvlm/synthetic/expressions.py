"""Emotions as FACS action units on the ICT expression shapes: recipes per emotion (prototype first, some
kept for held-out tests), intensity levels, and the shape weights of an expression with its variation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face_model import face_model
from .variation import NO_VARIATION, Variation

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
# Brows, eyes and cheeks; every other unit moves the nose, mouth or jaw.
UPPER_FACE_UNITS = frozenset({1, 2, 4, 5, 6, 7, 45})
FACE_HALVES = ("upper", "lower")


@dataclass(frozen=True)
class Recipe:
    """One way to make an emotion: action unit -> activation at full intensity. `split` says who may use it:
    "train" recipes make training faces; "validation" recipes are for choosing between models and "heldout"
    ones for the final test, so that a score on either measures recognition of a new way to make the emotion
    and the test's recipes are not the ones a choice leaned on."""

    name: str
    units: dict[int, float]
    split: str = "train"


# EMFACS prototypes and common variants (AU23 has no shape, AU24 stands in; AU25 "lips part" is a little
# AU16/AU26). The first recipe of each emotion is its prototype. Within an emotion the order of the recipes of
# one split is fixed: synthetic data sets draw recipes by their index among their split's.
EMOTION_RECIPES: dict[str, tuple[Recipe, ...]] = {
    "anger": (
        Recipe("prototype", {4: 1.0, 5: 0.5, 7: 0.8, 24: 0.8, 17: 0.4}),
        Recipe("pressed lips", {4: 1.0, 7: 0.9, 24: 1.0}),
        Recipe("open mouth", {4: 0.9, 5: 0.7, 7: 0.6, 10: 0.7, 16: 0.5, 26: 0.4}),
        Recipe("funnelled lips", {4: 1.0, 5: 0.6, 7: 0.6, 10: 0.5, 22: 0.5, 26: 0.3}, "validation"),
        Recipe("chin raise", {4: 1.0, 5: 0.6, 7: 0.5, 17: 0.8, 24: 0.5}, "heldout"),
    ),
    "disgust": (
        Recipe("prototype", {9: 1.0, 10: 0.8, 15: 0.4, 17: 0.5}),
        Recipe("nose wrinkle", {9: 1.0, 7: 0.5, 4: 0.4, 16: 0.3}),
        Recipe("upper lip raise", {10: 1.0, 11: 0.6, 17: 0.6, 15: 0.3}),
        Recipe("nose wrinkle, chin raise", {9: 1.0, 17: 0.8, 7: 0.3}, "validation"),
        Recipe("lower lip down", {9: 0.8, 10: 0.6, 16: 0.5, 26: 0.2, 4: 0.3}, "heldout"),
    ),
    "fear": (
        Recipe("prototype", {1: 0.8, 2: 0.6, 4: 0.6, 5: 1.0, 7: 0.3, 20: 0.9, 26: 0.3}),
        Recipe("closed mouth", {1: 1.0, 2: 0.8, 4: 0.5, 5: 1.0, 20: 0.6}),
        Recipe("stretched mouth", {1: 0.7, 4: 0.7, 5: 0.8, 20: 1.0, 26: 0.5, 16: 0.3}),
        Recipe("open, unstretched", {1: 0.9, 2: 0.7, 4: 0.6, 5: 1.0, 26: 0.6}, "validation"),
        Recipe("lips part", {1: 0.9, 2: 0.5, 4: 0.6, 5: 0.9, 20: 0.8, 16: 0.4}, "heldout"),
    ),
    "happiness": (
        Recipe("prototype", {6: 0.9, 12: 1.0, 26: 0.15}),
        Recipe("social smile", {12: 1.0}),
        Recipe("laugh", {6: 1.0, 12: 1.0, 26: 0.5, 16: 0.3}),
        Recipe("dimpled smile", {6: 1.0, 12: 0.7, 14: 0.4}, "validation"),
        Recipe("lips part", {6: 0.8, 12: 0.9, 16: 0.3}, "heldout"),
    ),
    "sadness": (
        Recipe("prototype", {1: 1.0, 4: 0.6, 15: 1.0, 17: 0.6}),
        Recipe("brows", {1: 1.0, 4: 0.8, 15: 0.8}),
        Recipe("mouth", {6: 0.4, 15: 1.0, 17: 0.8, 4: 0.3}),
        Recipe("brows, upper lip", {1: 1.0, 4: 0.7, 11: 0.6}, "validation"),
        Recipe("upper lip", {1: 0.8, 15: 0.9, 17: 0.4, 11: 0.3, 4: 0.4}, "heldout"),
    ),
    "surprise": (
        Recipe("prototype", {1: 1.0, 2: 1.0, 5: 0.9, 26: 0.8}),
        Recipe("no jaw drop", {1: 1.0, 2: 1.0, 5: 0.8}),
        Recipe("jaw drop", {1: 0.8, 2: 0.9, 26: 1.0}),
        Recipe("eyes and jaw", {5: 1.0, 26: 0.9}, "validation"),
        Recipe("lips part", {1: 1.0, 2: 0.8, 5: 0.6, 26: 0.5, 16: 0.2}, "heldout"),
    ),
    "neutral": (Recipe("prototype", {}), Recipe("at rest", {}, "validation"), Recipe("relaxed", {}, "heldout")),
}
EMOTION_PROTOTYPES: dict[str, dict[int, float]] = {emotion: recipes[0].units for emotion, recipes in EMOTION_RECIPES.items()}
RECIPE_SPLITS = ("train", "validation", "heldout")
INTENSITY_SCALE = {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}


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


def checked_intensity(emotion: str, intensity: int | None) -> int:
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
    intensity = checked_intensity(emotion, intensity)
    return Expression(emotion, EMOTION_RECIPES[emotion][0], INTENSITY_SCALE.get(intensity, 0.0))


def draw_expression(emotion: str, split: str, rng: np.random.Generator,
                    levels: tuple[float, float] = (0.55, 1.0), blend_probability: float = 0.0,
                    partial_probability: float = 0.0) -> Expression:
    """A random recipe of `emotion` among those of `split` (one of RECIPE_SPLITS) at a uniform random level.

    With `blend_probability`, that share of faces of an emotion with two or more recipes in the split shows a
    blend of two of them instead (see `blended_recipe`), so a model meets the space between the recipes it
    trains on and not only its corners. With `partial_probability`, that share shows the recipe on one half
    of the face only (see `partial_recipe`), so that each half's signs of the emotion are learned on their
    own and a new recipe that keeps only one of them is still read."""
    if split not in RECIPE_SPLITS:
        raise ValueError(f"recipe split must be one of {RECIPE_SPLITS}, got {split!r}")
    checked_intensity(emotion, None)
    recipes = [recipe for recipe in EMOTION_RECIPES[emotion] if recipe.split == split]
    level = 0.0 if emotion == "neutral" else float(rng.uniform(*levels))
    if blend_probability > 0 and len(recipes) > 1 and rng.random() < blend_probability:
        first, second = rng.choice(len(recipes), size=2, replace=False)
        recipe = blended_recipe(recipes[first], recipes[second], float(rng.random()))
    else:
        recipe = recipes[int(rng.integers(len(recipes)))]
    if partial_probability > 0:
        halves = [partial_recipe(recipe, half) for half in FACE_HALVES]
        if all(half.units for half in halves) and rng.random() < partial_probability:
            recipe = halves[int(rng.integers(2))]
    return Expression(emotion, recipe, level)


def partial_recipe(recipe: Recipe, half: str) -> Recipe:
    """The units of `recipe` on one half of the face ("upper": brows, eyes, cheeks; "lower": the rest)."""
    if half not in FACE_HALVES:
        raise ValueError(f"half must be one of {FACE_HALVES}, got {half!r}")
    units = {unit: activation for unit, activation in recipe.units.items()
             if (unit in UPPER_FACE_UNITS) == (half == "upper")}
    return Recipe(f"{half} face of {recipe.name}", units, recipe.split)


def blended_recipe(first: Recipe, second: Recipe, share: float) -> Recipe:
    """`share` of `first` and the rest of `second`: every action unit of either, its activation mixed linearly
    (a unit one recipe lacks counts as 0 there). Both must belong to one split; the blend keeps it."""
    if first.split != second.split:
        raise ValueError(f"cannot blend a {first.split!r} recipe with a {second.split!r} one")
    units = {unit: share * first.units.get(unit, 0.0) + (1.0 - share) * second.units.get(unit, 0.0)
             for unit in sorted(first.units.keys() | second.units.keys())}
    return Recipe(f"blend of {first.name} and {second.name}", units, first.split)


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


def unit_weights(units: dict[int, float]) -> np.ndarray:
    """Weights of the 53 expression shapes for action units at the given activations, both sides alike
    (the distractor motion of a sequence: blinks, talking)."""
    weights = np.zeros(len(face_model().expression_names), dtype=np.float32)
    for unit, activation in units.items():
        for shape in ACTION_UNIT_SHAPES[unit]:
            weights[_shape_index(shape)] = np.clip(activation, 0.0, 1.0)
    return weights


def expression_weights(
    emotion: str, intensity: int | None = None, variation: Variation = NO_VARIATION, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Weights of the 53 expression shapes for an emotion's prototype at intensity 1..4 (neutral: 0)."""
    return recipe_weights(prototype_expression(emotion, intensity), variation, rng)


