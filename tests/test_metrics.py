"""Metrics against loop references; fold aggregation into the results schema; plots are real PNGs."""

import random

import pytest
from PIL import Image

from affectvlm.evaluation.metrics import classification_metrics, mean_std
from affectvlm.evaluation.plots import plot_confusion_matrix, plot_convergence, plot_training_curves
from affectvlm.evaluation.report import ResultsSource, fold_results

LABELS = ["anger", "disgust", "fear", "happiness"]


def _reference(y_true, y_pred, k):
    per = {}
    for c in range(k):
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred))
        predicted = sum(p == c for p in y_pred)
        actual = sum(t == c for t in y_true)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[c] = (precision, recall, f1, actual, predicted)
    present = [c for c in range(k) if per[c][3] or per[c][4]]
    return per, sum(per[c][2] for c in present) / len(present)


def test_metrics_match_a_loop_reference():
    rng = random.Random(0)
    for _ in range(20):
        y_true = [rng.randrange(4) for _ in range(30)]
        y_pred = [t if rng.random() < 0.6 else rng.randrange(4) for t in y_true]
        metrics = classification_metrics(y_true, y_pred, LABELS)
        per, macro = _reference(y_true, y_pred, 4)
        assert metrics["accuracy"] == pytest.approx(sum(t == p for t, p in zip(y_true, y_pred)) / 30)
        assert metrics["macro_f1"] == pytest.approx(macro)
        for c, label in enumerate(LABELS):
            entry = metrics["per_class"][label]
            assert (entry["precision"], entry["recall"], entry["f1"]) == pytest.approx(per[c][:3])
            assert entry["support"] == per[c][3]
            assert metrics["confusion_matrix"][c] == [sum(t == c and p == q for t, p in zip(y_true, y_pred)) for q in range(4)]


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="2 true labels but 1"):
        classification_metrics([0, 1], [0], LABELS)
    with pytest.raises(ValueError, match="no samples"):
        classification_metrics([], [], LABELS)


def test_fold_results_follow_the_schema():
    folds = [{"fold": i, **classification_metrics([0, 1, 2, 3], [0, 1, 2, i % 4], LABELS)} for i in (0, 3)]
    source = ResultsSource(model="m", dataset={"layout": "bu3dfe", "synthetic": True}, command="c")
    results = fold_results(folds, LABELS, source)
    assert results["task"] == "3d" and fold_results(folds, LABELS, source, sequence={"num_frames": 2})["task"] == "4d"
    assert results["dataset"]["name"] == "BU-3DFE" and results["dataset"]["synthetic"] is True
    assert results["summary"]["accuracy"] == mean_std([0.75, 1.0]) == {"mean": 0.875, "std": 0.125}
    assert results["summary"]["num_folds"] == 2 and [f["fold"] for f in results["folds"]] == [0, 3]
    with pytest.raises(ValueError, match="lack"):
        fold_results([{"fold": 0, "accuracy": 1.0}], LABELS, ResultsSource("m", {"layout": "x"}, "c"))


def test_plots_are_written_as_png(tmp_path):
    records = [{"step": s, "loss": 3.0 / s} for s in range(1, 20)] + [{"step": 10, "validation/accuracy": 0.5}]
    paths = [
        plot_training_curves(records, tmp_path / "curves.png", "run"),
        plot_convergence({"a": [(10, 0.4), (20, 0.7)], "b": [(10, 0.2)]}, tmp_path / "conv.png", target=0.6),
        plot_confusion_matrix([[3, 1], [0, 4]], ["anger", "joy"], tmp_path / "cm.png"),
    ]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 200
