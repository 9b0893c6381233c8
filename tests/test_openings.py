"""Eyes and mouth as a scan shows them: the ICT mesh's eye holes and lip slit capped when the variation asks,
a cap kept only where the scan kept its rim, and nothing drawn or changed when it does not ask."""

import dataclasses

import numpy as np
import pytest

from affectvlm.synthetic import NO_VARIATION, SCAN_VARIATION, Variation, face_model, synthesize_face
from affectvlm.synthetic.openings import _boundary_loops, capped_openings, model_openings

CAP_ALL = Variation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, eye_fill=1.0, mouth_fill=1.0)


def test_the_model_has_two_eye_holes_and_a_mouth_slit():
    openings = model_openings()
    assert sorted(opening.name for opening in openings) == ["eyes", "eyes", "mouth"]
    neutral = face_model().neutral
    eye_x = sorted(neutral[opening.loop, 0].mean() for opening in openings if opening.name == "eyes")
    assert eye_x[0] < -2.0 and eye_x[1] > 2.0  # one on each side of the face


def test_capped_eyes_and_mouth_leave_only_the_outline_open():
    open_face = synthesize_face(3, "surprise", 4, NO_VARIATION)
    capped = synthesize_face(3, "surprise", 4, CAP_ALL)
    assert len(_boundary_loops(open_face.faces)) == 4  # outline, two eyes, mouth
    assert len(_boundary_loops(capped.faces)) == 1
    assert len(capped.vertices) == len(open_face.vertices) + 3
    np.testing.assert_allclose(capped.vertices[:len(open_face.vertices)], open_face.vertices, atol=1e-5)
    mouth = next(opening.loop for opening in model_openings() if opening.name == "mouth")
    assert capped.vertices[-1, 2] < open_face.vertices[mouth, 2].mean()  # the mouth's floor lies behind the lips


def test_without_fill_nothing_is_drawn_so_earlier_data_sets_stay_the_same():
    rng = np.random.default_rng(7)
    vertices = face_model().neutral
    variation = dataclasses.replace(SCAN_VARIATION, eye_fill=0.0, mouth_fill=0.0)
    same_vertices, triangles, keep = capped_openings(vertices, None, variation, rng)
    assert same_vertices is vertices and triangles is face_model().triangles and keep is None
    assert rng.random() == np.random.default_rng(7).random()  # the face's later draws (pose, noise) unmoved


def test_a_cap_stays_only_where_the_scan_kept_its_rim():
    eyes = [opening.loop for opening in model_openings() if opening.name == "eyes"]
    vertices = face_model().neutral
    keep = np.ones(len(vertices), dtype=bool)
    keep[eyes[0][5]] = False  # a hole reaches the first eye's rim
    capped, triangles, kept = capped_openings(vertices, keep, CAP_ALL, np.random.default_rng(0))
    assert len(capped) == len(vertices) + 3 and len(kept) == len(capped)
    centre_of = {int(t[0]): t for t in triangles[len(face_model().triangles):]}
    first_eye_centre = next(c for c, t in centre_of.items() if t[2] in set(eyes[0].tolist()))
    assert not kept[first_eye_centre]
    assert kept[len(vertices):].sum() == 2  # the other eye and the mouth stay capped


def test_a_border_that_is_not_simple_loops_is_refused_not_walked_forever():
    assert [loop.tolist() for loop in _boundary_loops(np.array([[0, 1, 2]]))] == [[0, 1, 2]]
    bow_tie = np.array([[0, 1, 2], [0, 3, 4]])  # two triangles touching at one vertex: two border edges leave it
    with pytest.raises(ValueError, match="not a set of simple loops"):
        _boundary_loops(bow_tie)
