"""Subject-independent protocols: disjoint subjects, every subject tested once, seeded, overridable."""

import pytest

from affectvlm.data.protocols import PROTOCOLS, Protocol, ProtocolError, Split, get_protocol
from affectvlm.data.samples import FaceSample

EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


def _bu3dfe_like(num_subjects: int) -> list[FaceSample]:
    return [
        FaceSample((f"S{s:03d}/{e}_{i}.wrl",), e, f"S{s:03d}", {"intensity": i})
        for s in range(num_subjects)
        for e in EMOTIONS
        for i in (1, 2, 3, 4)
    ] + [FaceSample((f"S{s:03d}/neutral.wrl",), "neutral", f"S{s:03d}", {"intensity": 0}) for s in range(num_subjects)]


def test_bu3dfe_protocol_uses_60_subjects_two_top_intensities_and_ten_disjoint_folds():
    samples = _bu3dfe_like(100)
    protocol = get_protocol("bu3dfe")
    tested = []
    for fold in range(protocol.folds):
        split = protocol.split(samples, fold)
        subjects = split.subjects()
        assert not (subjects["train"] & subjects["test"] or subjects["train"] & subjects["validation"]
                    or subjects["validation"] & subjects["test"])
        assert len(subjects["test"]) == 6 and len(subjects["validation"]) == 6 and len(subjects["train"]) == 48
        assert {s.metadata["intensity"] for s in split.train + split.test} == {3, 4}
        assert {s.label for s in split.test} == set(EMOTIONS)
        tested += subjects["test"]
    assert len(tested) == len(set(tested)) == 60  # every participant is tested exactly once


def test_splits_are_deterministic_under_a_seed_and_change_with_it():
    samples = _bu3dfe_like(30)
    protocol = Protocol("p", folds=5, seed=3)
    assert protocol.split(samples, 2) == protocol.split(samples, 2)
    other = protocol.with_overrides(seed=4).split(samples, 2)
    assert other.subjects()["test"] != protocol.split(samples, 2).subjects()["test"]


def test_overrides_and_no_validation_set():
    samples = _bu3dfe_like(12)
    protocol = get_protocol("bu3dfe", folds=4, num_subjects=None, validation_folds=0,
                            labels=EMOTIONS + ("neutral",), metadata={})
    split = protocol.split(samples, 0)
    assert split.validation == [] and len(split.subjects()["test"]) == 3
    assert "neutral" in {s.label for s in split.train}


def test_sequence_protocols_keep_only_sequences():
    still = FaceSample(("a.wrl",), "anger", "S1")
    sequences = [FaceSample((f"S{s}/{e}/000.wrl", f"S{s}/{e}/001.wrl"), e, f"S{s}") for s in range(10) for e in EMOTIONS]
    split = PROTOCOLS["bu4dfe"].split([still, *sequences], 0)
    assert all(s.is_sequence for s in split.train + split.validation + split.test)


def test_clear_errors_for_impossible_protocols():
    with pytest.raises(ProtocolError, match="cannot fill 10 folds"):
        get_protocol("bosphorus", num_subjects=None).split(_bu3dfe_like(5), 0)
    with pytest.raises(ProtocolError, match="fold must be in 0..9"):
        get_protocol("bu3dfe").split(_bu3dfe_like(20), 10)
    with pytest.raises(ProtocolError, match="unknown protocol"):
        get_protocol("casme")
    with pytest.raises(ProtocolError, match="at least 2 folds"):
        Protocol("p", folds=1)


def test_a_subject_in_two_sets_is_caught_in_code(monkeypatch):
    samples = _bu3dfe_like(10)
    protocol = Protocol("p", folds=5)
    groups = protocol.fold_subjects(protocol.select(samples))
    leaky = [groups[0] + [groups[1][0]], *groups[1:]]  # one subject dealt into two folds
    monkeypatch.setattr(Protocol, "fold_subjects", lambda self, samples: leaky)
    with pytest.raises(ProtocolError, match="in both validation and test"):
        protocol.split(samples, 0)


def test_split_is_a_plain_value():
    assert Split([], [], [FaceSample(("x.ply",), "anger", "s")]).subjects()["test"] == {"s"}
