"""4D scores from per-sequence and per-frame predictions: sequence, frame and majority-vote accuracy."""

import pytest

from affectvlm.evaluation.evaluate import _sequence_scores


def test_sequence_frame_and_voting_accuracy_count_what_they_say():
    truth = [0, 1, 2]
    predictions = [0, 1, 0]  # the temporal model: 2 of 3 sequences right
    frames = [[0, 0, 1], [2, 2, 1], [2, 1, 1]]  # 4 of 9 frames right; votes 0, 2, 1 -> 1 of 3 right
    scores = _sequence_scores(truth, predictions, frames)
    assert scores["sequence_accuracy"] == pytest.approx(2 / 3)
    assert scores["frame_accuracy"] == pytest.approx(4 / 9)
    assert scores["voting_accuracy"] == pytest.approx(1 / 3)


def test_a_tied_vote_goes_to_the_lowest_class():
    scores = _sequence_scores([1], [1], [[2, 1, 2, 1]])
    assert scores["voting_accuracy"] == 1.0
    assert _sequence_scores([2], [2], [[2, 1, 2, 1]])["voting_accuracy"] == 0.0
