"""Synthetic faces: reproducible, varied around their prototype or recipe (or a blend of two), with
metadata; 4D sequences rise and fall."""

import numpy as np
import pytest

from affectvlm.data.emotions import EMOTIONS_WITH_NEUTRAL
from affectvlm.model.configuration_affectvlm import BASIC_EMOTIONS
from affectvlm.synthetic import (
    DEFAULT_VARIATION,
    EMOTION_RECIPES,
    MIXED_SCAN_VARIATION,
    NO_VARIATION,
    SCAN_VARIATION,
    SEQUENCE_PHASES,
    SequenceClip,
    Variation,
    blended_recipe,
    draw_expression,
    expression_envelope,
    expression_weights,
    face_model,
    partial_recipe,
    subject_attributes,
    synthesize_face,
    synthesize_sequence,
)
from affectvlm.synthetic.writers.common import bnd_landmarks


def test_same_seeds_give_the_same_face_and_other_seeds_differ():
    first = synthesize_face(3, "anger", 3, DEFAULT_VARIATION, sample_seed=1)
    again = synthesize_face(3, "anger", 3, DEFAULT_VARIATION, sample_seed=1)
    other_sample = synthesize_face(3, "anger", 3, DEFAULT_VARIATION, sample_seed=2)
    np.testing.assert_array_equal(first.vertices, again.vertices)
    assert first.vertices.shape != other_sample.vertices.shape or not np.allclose(first.vertices, other_sample.vertices)


def test_without_variation_the_face_is_the_prototype():
    model = face_model()
    face = synthesize_face(5, "surprise", 4, NO_VARIATION)
    identity = synthesize_face(5, "neutral", 0, NO_VARIATION)
    expression = np.tensordot(expression_weights("surprise", 4), model.expression_deltas, axes=1)
    np.testing.assert_allclose(face.vertices - identity.vertices, expression, atol=1e-4)
    assert face.metadata["intensity"] == 4 and identity.metadata["intensity"] == 0


def test_variation_jitters_and_unbalances_the_prototype():
    names = face_model().expression_names
    prototype = expression_weights("happiness", 4)
    rng = np.random.default_rng(0)
    varied = [expression_weights("happiness", 4, Variation(extra_unit_rate=0.0), rng) for _ in range(20)]
    smile_l, smile_r = names.index("mouthSmile_L"), names.index("mouthSmile_R")
    assert prototype[smile_l] == prototype[smile_r] == 1.0
    assert any(weights[smile_l] != weights[smile_r] for weights in varied)  # asymmetry
    assert np.std([weights[names.index("cheekSquint_L")] for weights in varied]) > 0.05  # intensity jitter
    extra = [expression_weights("happiness", 4, Variation(extra_unit_rate=3.0), rng) for _ in range(10)]
    assert any(((weights > 0) & (prototype == 0)).any() for weights in extra)  # extra action units


def test_intensity_scales_the_expression():
    weak, strong = expression_weights("sadness", 1), expression_weights("sadness", 4)
    np.testing.assert_allclose(weak * 4, strong, atol=1e-6)


@pytest.mark.parametrize(("emotion", "intensity"), [("joy", 4), ("anger", 0), ("anger", 5), ("neutral", 2)])
def test_bad_emotion_or_intensity_is_refused(emotion, intensity):
    with pytest.raises(ValueError, match=emotion if emotion == "joy" else "intensity"):
        synthesize_face(1, emotion, intensity)


def test_crops_cut_part_of_the_face_and_keep_the_mesh_valid():
    crop_always = Variation(crop_probability=1.0, crop_max_fraction=0.3)
    full = synthesize_face(2, "fear", 4, NO_VARIATION)
    cropped = synthesize_face(2, "fear", 4, crop_always, sample_seed=4)
    assert cropped.metadata["cropped"] is True
    assert len(cropped.vertices) < len(full.vertices)
    assert cropped.faces.max() < len(cropped.vertices) and cropped.faces.min() >= 0
    assert 0 < len(cropped.landmarks) <= 68
    assert len(cropped.metadata["landmark_ids"]) == len(cropped.landmarks)
    nearest = np.linalg.norm(cropped.landmarks[:, None] - cropped.vertices[None], axis=2).min(axis=1)
    np.testing.assert_array_equal(nearest, 0.0)  # every landmark kept is a vertex the crop kept


def test_the_generator_makes_the_project_emotions_in_the_project_order():
    assert EMOTIONS_WITH_NEUTRAL == (*BASIC_EMOTIONS, "neutral")
    assert tuple(EMOTION_RECIPES) == EMOTIONS_WITH_NEUTRAL  # its draws are seeded by position in this list


def test_subject_attributes_are_fixed_by_the_seed_and_vary_across_subjects():
    assert subject_attributes(11) == subject_attributes(11)
    attributes = [subject_attributes(seed) for seed in range(40)]
    assert {a["gender"] for a in attributes} == {"female", "male"}
    assert len({a["age_group"] for a in attributes}) == 3
    face = synthesize_face(11, "disgust", 2)
    assert {key: face.metadata[key] for key in ("gender", "age_group", "ethnicity")} == subject_attributes(11)


def test_sequence_goes_neutral_onset_apex_offset_neutral():
    envelope = expression_envelope(40)
    phases = [phase for phase, _ in envelope]
    assert [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]] == [p for p, _ in SEQUENCE_PHASES]
    levels = np.array([level for _, level in envelope])
    apex = [i for i, p in enumerate(phases) if p == "apex"]
    onset = [i for i, p in enumerate(phases) if p == "onset"]
    assert levels[0] == levels[-1] == 0.0 and (levels[apex] == 1.0).all()
    assert (np.diff(levels[onset]) > 0).all()

    uncropped = Variation(crop_probability=0.0)
    frames = synthesize_sequence(4, "surprise", SequenceClip(10, fps=5.0), uncropped)
    assert [f.metadata["frame"] for f in frames] == list(range(10))
    assert frames[3].metadata["time_s"] == pytest.approx(0.6)
    chin = np.array([f.vertices[face_model().landmarks68[8], 1] for f in frames])  # drops as the jaw opens
    assert chin[len(frames) // 2] < chin[0] - 0.3 and abs(chin[-1] - chin[0]) < 0.3
    with pytest.raises(ValueError, match="at least"):
        expression_envelope(3)


def test_partial_faces_show_one_half_of_a_training_recipe():
    rng = np.random.default_rng(4)
    prototype = EMOTION_RECIPES["fear"][0]
    drawn = [draw_expression("fear", "train", rng, partial_probability=1.0).recipe for _ in range(30)]
    halves = {recipe.name.split(" face of ")[0] for recipe in drawn}
    assert halves == {"upper", "lower"} and all(recipe.split == "train" for recipe in drawn)
    upper = partial_recipe(prototype, "upper")
    assert upper.units == {1: 0.8, 2: 0.6, 4: 0.6, 5: 1.0, 7: 0.3}
    assert partial_recipe(prototype, "lower").units == {20: 0.9, 26: 0.3}
    # a recipe on one half only ("social smile": AU12) is always shown whole
    social = [draw_expression("happiness", "train", np.random.default_rng(seed), partial_probability=1.0).recipe
              for seed in range(30)]
    assert "social smile" in {recipe.name for recipe in social}
    with pytest.raises(ValueError, match="half"):
        partial_recipe(prototype, "left")


def test_blended_faces_mix_two_training_recipes_of_their_emotion():
    rng = np.random.default_rng(3)
    train = {recipe.name: recipe for recipe in EMOTION_RECIPES["anger"] if recipe.split == "train"}
    for _ in range(20):
        recipe = draw_expression("anger", "train", rng, blend_probability=1.0).recipe
        first, second = recipe.name.removeprefix("blend of ").split(" and ")
        assert first != second and {first, second} <= set(train) and recipe.split == "train"
        for unit, activation in recipe.units.items():
            ends = (train[first].units.get(unit, 0.0), train[second].units.get(unit, 0.0))
            assert min(ends) - 1e-9 <= activation <= max(ends) + 1e-9
    # one held-out recipe per emotion: nothing to blend, so held-out faces stay as they were
    assert draw_expression("anger", "heldout", rng, blend_probability=1.0).recipe.name == "chin raise"
    with pytest.raises(ValueError, match="blend"):
        blended_recipe(EMOTION_RECIPES["anger"][0], EMOTION_RECIPES["anger"][-1], 0.5)



def test_only_the_mixed_scan_variation_blends():
    rng = np.random.default_rng(5)
    for variation, blends in ((SCAN_VARIATION, False), (MIXED_SCAN_VARIATION, True)):
        names = {draw_expression("fear", "train", rng, blend_probability=variation.recipe_blending).recipe.name
                 for _ in range(40)}
        assert any(name.startswith("blend of") for name in names) == blends


def test_bnd_landmarks_snap_the_face_landmarks_then_spread_the_rest_by_farthest_points():
    face = synthesize_face(3, "surprise", 4, variation=SCAN_VARIATION, sample_seed=2)  # a cropped, noisy scan
    indices, points = bnd_landmarks(face, count=90)
    vertices = np.asarray(face.vertices, dtype=np.float64)

    def squared(point: np.ndarray) -> np.ndarray:
        return ((vertices - point) ** 2).sum(axis=1)

    own = len(face.landmarks)
    assert indices[:own].tolist() == [int(np.argmin(squared(point))) for point in face.landmarks]
    distance = np.min([squared(vertices[index]) for index in indices[:own]], axis=0)
    for index in indices[own:]:  # each added vertex is the one farthest from those chosen before it
        assert distance[index] == distance.max()
        distance = np.minimum(distance, squared(vertices[index]))
    assert len(set(indices.tolist())) == 90 and np.array_equal(points, vertices[indices])
