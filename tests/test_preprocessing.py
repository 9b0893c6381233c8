"""Face-centric preprocessing: the same expression as a whole head, a face mask, a partial scan, turned or
in millimetres gives nearly the same views; the fit finds pose, position and units."""

import numpy as np
import pytest

from affectvlm.synthetic import (
    EMOTION_RECIPES, RECIPE_SPLITS, SCAN_VARIATION, draw_expression, face_model, rotation_matrix,
    synthesize_expression, synthesize_face,
)
from affectvlm.face_template import NARROW_FACE_VERTICES, default_face_alignment
from affectvlm.model.meshes_affectvlm import FaceMesh
from affectvlm.model.preprocessing_affectvlm import canonicalize_face, fit_face, metric_scale
from affectvlm.model.processing_affectvlm import RenderSettings, render_faces
from affectvlm.model.rendering_affectvlm import ViewSpec

ALIGNMENT = default_face_alignment()
SETTINGS = RenderSettings((ViewSpec("frontal"), ViewSpec("left", 30.0), ViewSpec("right", -30.0)), "normals", 64,
                          ALIGNMENT)


def _difference(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean absolute grey-level difference where both views show the face."""
    both = (reference.sum(-1) > 0) & (other.sum(-1) > 0)
    return float(np.abs(reference.astype(float) - other).mean(-1)[both].mean())


def _variants(face: FaceMesh) -> dict[str, FaceMesh]:
    vertices = face.vertices
    centre = vertices.mean(axis=0)
    return {
        "face mask": face.submesh(np.arange(len(vertices)) < NARROW_FACE_VERTICES),
        "partial scan": face.submesh(vertices[:, 0] > np.percentile(vertices[:, 0], 25)),
        "turned 15 degrees": FaceMesh((vertices - centre) @ rotation_matrix(15, 5, 0).T + centre, face.faces),
        "millimetres, offset": FaceMesh(vertices * 10 + np.array([300.0, -120.0, 900.0]), face.faces),
    }


@pytest.mark.parametrize("emotion", ["happiness", "surprise"])
def test_one_expression_in_any_framing_renders_alike(emotion):
    """Bound: half of what a change of expression makes (the same person happy vs surprised differs by
    about 25 grey levels here), so that framing can never look like an expression."""
    whole = synthesize_face(7, emotion, 4)
    other = synthesize_face(7, "surprise" if emotion == "happiness" else "happiness", 4)
    variants = _variants(whole)
    views = render_faces([whole, other, *variants.values()], SETTINGS)
    expression_change = _difference(views[0], views[1])
    assert expression_change > 15
    for name, rendered in zip(variants, views[2:]):
        assert _difference(views[0], rendered) < 0.5 * expression_change, name


def test_the_fit_finds_the_nose_tip_and_the_units():
    face = synthesize_face(3, "anger", 4)
    nose = face.vertices[face_model().landmarks68[30]]
    for scale, offset in ((1.0, 0.0), (10.0, 250.0), (0.01, -2.0)):
        fit, _ = fit_face(face.vertices * scale + offset, face.faces, ALIGNMENT)
        assert fit.scale == pytest.approx(scale)
        found = fit.to_input(np.zeros((1, 3)))[0]
        assert np.linalg.norm(found - (nose * scale + offset)) / scale < 1.0  # within 1 cm


def test_metric_scale_snaps_to_a_power_of_ten():
    assert metric_scale(0.7) == 1.0 and metric_scale(8.0) == 10.0 and metric_scale(0.012) == 0.01


def test_the_crop_keeps_the_face_region_and_frames_it():
    face = canonicalize_face(synthesize_expression(5, draw_expression("fear", "train", np.random.default_rng(0)),
                                                   SCAN_VARIATION), ALIGNMENT)
    radius = np.linalg.norm(face.vertices * ALIGNMENT.frame_radius + np.array(ALIGNMENT.frame_centre), axis=1)
    assert radius.max() < ALIGNMENT.crop_radius + 1e-4
    assert np.abs(face.vertices).max() < 1.5  # inside the camera's framed sphere
    assert face.faces.max() < len(face.vertices)


def test_each_recipe_split_draws_only_its_own_recipes():
    rng = np.random.default_rng(0)
    for emotion, recipes in EMOTION_RECIPES.items():
        for split in RECIPE_SPLITS:
            own = {recipe.name for recipe in recipes if recipe.split == split}
            assert own, (emotion, split)
            assert {draw_expression(emotion, split, rng).recipe.name for _ in range(40)} == own


def test_validation_and_test_recipes_are_new_ways_to_make_an_emotion():
    """A validation or held-out recipe that repeated a training one (or each other) would score recognition of
    a seen expression under a new name."""
    for emotion, recipes in EMOTION_RECIPES.items():
        if emotion == "neutral":
            continue
        units = [frozenset(recipe.units.items()) for recipe in recipes]
        assert len(set(units)) == len(units), emotion
