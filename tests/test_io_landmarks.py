"""Landmark files: BU-3DFE .bnd (index x y z) and Bosphorus .lm3 (named points) round-trip, accept the
layouts real files use, and refuse broken ones naming the file and line."""

import numpy as np
import pytest

from affectvlm.io.landmarks import (
    BOSPHORUS_LANDMARK_NAMES,
    read_bnd,
    read_landmarks,
    read_lm3,
    write_bnd,
    write_lm3,
)
from affectvlm.model.meshes_affectvlm import MeshFormatError
from affectvlm.synthetic.writers.bosphorus import MULTIPIE_OF_BOSPHORUS_LANDMARK

POINTS = np.random.default_rng(0).normal(scale=50, size=(83, 3))


def test_bnd_round_trips_83_points_with_vertex_numbers(tmp_path):
    indices = np.arange(83) * 7
    write_bnd(tmp_path / "face.bnd", indices, POINTS)
    read_indices, points = read_bnd(tmp_path / "face.bnd")
    assert read_indices.tolist() == indices.tolist()
    np.testing.assert_allclose(points, POINTS, atol=1e-6)
    assert "\t\t" in (tmp_path / "face.bnd").read_text()  # tab-separated, as the real files are


def test_bnd_accepts_any_whitespace_and_blank_lines(tmp_path):
    (tmp_path / "face.bnd").write_text("12\t\t1.5\t\t-2\t\t3e1\n\n  7  0 0 0  \r\n")
    indices, points = read_bnd(tmp_path / "face.bnd")
    assert indices.tolist() == [12, 7]
    np.testing.assert_allclose(points, [[1.5, -2, 30], [0, 0, 0]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 3 4\n5 6 x 8\n", "line 2 is '5 6 x 8', expected 4 numbers"),
        ("1 2 3\n", "line 1 is '1 2 3', expected 4 numbers"),
        ("1.5 2 3 4\n", "must hold vertex indices"),
        ("\n\n", "holds no landmarks"),
        ("1 nan 3 4\n", "expected 4 numbers"),
    ],
)
def test_broken_bnd_is_refused_naming_file_and_line(tmp_path, text, message):
    (tmp_path / "bad.bnd").write_text(text)
    with pytest.raises(MeshFormatError, match=message) as caught:
        read_landmarks(tmp_path / "bad.bnd")
    assert str(caught.value).startswith(str(tmp_path / "bad.bnd"))


def test_lm3_round_trips_named_points(tmp_path):
    names = list(BOSPHORUS_LANDMARK_NAMES[:22])
    write_lm3(tmp_path / "scan.lm3", names, POINTS[:22], title="bs000_E_HAPPY_0")
    text = (tmp_path / "scan.lm3").read_text()
    assert "22 landmarks:" in text and text.startswith("#")
    read_names, points = read_lm3(tmp_path / "scan.lm3")
    assert read_names == names
    np.testing.assert_allclose(points, POINTS[:22], atol=1e-6)
    points_again, names_again = read_landmarks(tmp_path / "scan.lm3")
    assert names_again == names and np.allclose(points_again, points)


def test_lm3_layout_as_other_readers_take_it(tmp_path):
    (tmp_path / "scan.lm3").write_text(
        "# Bosphorus 3D landmarks\n#\n\n2 landmarks:\nNose tip\n 1.0 2.0 3.0 \n\nChin middle\n4 5 6\n"
    )
    names, points = read_lm3(tmp_path / "scan.lm3")
    assert names == ["Nose tip", "Chin middle"]
    np.testing.assert_allclose(points, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 landmarks:\nNose tip\n1 2 3\n", "says 3 landmarks but holds 2 lines for them, not 6"),
        ("landmarks:\nNose tip\n1 2 3\n", "line 1 is 'landmarks:', expected '<count> landmarks:'"),
        ("1 landmarks:\nNose tip\n1 2\n", "line 3 is '1 2', expected 3 numbers"),
        ("# only comments\n", "holds no landmarks"),
    ],
)
def test_broken_lm3_is_refused_naming_file_and_line(tmp_path, text, message):
    (tmp_path / "bad.lm3").write_text(text)
    with pytest.raises(MeshFormatError, match=message) as caught:
        read_landmarks(tmp_path / "bad.lm3")
    assert str(caught.value).startswith(str(tmp_path / "bad.lm3"))


def test_unknown_or_missing_landmark_files_are_refused(tmp_path):
    with pytest.raises(MeshFormatError, match=r"unknown landmark file type '\.pts'"):
        read_landmarks(tmp_path / "face.pts")
    with pytest.raises(MeshFormatError, match="cannot read landmarks") as caught:
        read_landmarks(tmp_path / "absent.bnd")
    assert str(caught.value).startswith(str(tmp_path / "absent.bnd"))


def test_bosphorus_names_and_the_multipie_mapping():
    assert len(BOSPHORUS_LANDMARK_NAMES) == 24 == len(set(BOSPHORUS_LANDMARK_NAMES))
    assert set(MULTIPIE_OF_BOSPHORUS_LANDMARK) <= set(BOSPHORUS_LANDMARK_NAMES)
    assert len(set(MULTIPIE_OF_BOSPHORUS_LANDMARK.values())) == len(MULTIPIE_OF_BOSPHORUS_LANDMARK) == 20
    assert all(0 <= index < 68 for index in MULTIPIE_OF_BOSPHORUS_LANDMARK.values())
