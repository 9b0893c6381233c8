"""The temporal head trained on a frozen 3D model's frame embeddings, the frame-level ways of reading a sequence
it is compared with, and the script that runs the comparison and installs the head."""

import importlib.util
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from affectvlm.bundled import load_pretrained
from affectvlm.data.cache import CacheBuild
from affectvlm.data.loading import scan_dataset
from affectvlm.evaluation.temporal_head import (
    METHODS, EmbeddedSequence, HeadTraining, count_hits, embed_sequences, fit_temporal_head, method_predictions,
)
from affectvlm.model.pooling_affectvlm import AffectVLMViewFusion

from conftest import tiny_model_and_processor

SCRIPT = Path(__file__).parents[1] / "scripts" / "train_temporal_head.py"


def test_each_method_reads_the_frames_its_own_way():
    model, _ = tiny_model_and_processor(temporal_pooling="transformer")
    classes = torch.eye(3, 32)  # class embeddings: three orthogonal directions
    # two frames lean to class 1, one frame points at class 2 strongly: a vote says 1; the mean says 2
    leaning = classes[1] + 0.9 * classes[2]
    clip = F.normalize(torch.stack([leaning, leaning, 5 * classes[2]]), dim=-1)
    predicted = method_predictions(model, model.temporal_pooling, clip, label=1, class_embeds=classes, classes=[0, 1, 2])
    assert set(predicted) == set(METHODS)
    assert predicted["vote"] == 1 and predicted["mean"] == 2
    assert predicted["oracle frame"] == 1  # the frame that scores the true class highest
    restricted = method_predictions(model, model.temporal_pooling, clip, 1, classes, classes=[0, 1])
    assert restricted["mean"] == 1 and all(value in (0, 1) for value in restricted.values())


def test_the_expressive_vote_lets_frames_the_model_calls_neutral_abstain():
    model, _ = tiny_model_and_processor(emotion_labels=["anger", "surprise", "neutral"])
    classes = torch.eye(3, 32)  # anger, surprise, neutral
    # two frames before the onset: neutral, nearer surprise than anger; one frame at the apex: anger
    clip = F.normalize(torch.stack([classes[2] + 0.3 * classes[1], classes[2] + 0.3 * classes[1], classes[0]]), dim=-1)
    predicted = method_predictions(model, model.temporal_pooling, clip, label=0, class_embeds=classes, classes=[0, 1])
    assert predicted["vote"] == 1 and predicted["expressive vote"] == 0
    all_neutral = clip[:2]  # nothing expressive: every frame votes
    assert method_predictions(model, model.temporal_pooling, all_neutral, 0, classes, [0, 1])["expressive vote"] == 1


def _sequences(count: int, seed: int) -> list[EmbeddedSequence]:
    """Class 0 rises, class 1 falls: the same frames in opposite order, so only an ordered reading tells them."""
    generator = torch.Generator().manual_seed(seed)
    neutral, apex = F.normalize(torch.randn(2, 32, generator=torch.Generator().manual_seed(5)), dim=-1)
    levels = torch.linspace(0, 1, 10)
    made = []
    for index in range(count):
        label = index % 2
        order = levels if label == 0 else levels.flip(0)
        frames = neutral + order[:, None] * (apex - neutral) + 0.05 * torch.randn(10, 32, generator=generator)
        made.append(EmbeddedSequence(f"s{index}", label, f"subject{index}", F.normalize(frames, dim=-1)))
    return made


def test_the_head_learns_an_order_a_vote_and_a_mean_cannot_see():
    model, _ = tiny_model_and_processor(temporal_pooling="transformer", temporal_dropout=0.0)
    classes = F.normalize(torch.randn(2, 32, generator=torch.Generator().manual_seed(9)), dim=-1)
    head = fit_temporal_head(model, _sequences(64, 0), HeadTraining(num_frames=10, steps=150, batch_size=32), classes)
    hits = count_hits(model, head, _sequences(40, 1), 10, classes, classes=[0, 1])["whole"]
    assert hits["temporal head"] >= 36  # of 40
    assert hits["mean"] <= 24 and hits["vote"] <= 24  # blind to order: about chance (20 of 40)
    scorer = fit_temporal_head(model, _sequences(64, 0), HeadTraining("attention", 10, 150, 32), classes)
    assert isinstance(scorer, AffectVLMViewFusion) and scorer.mode == "attention"
    assert count_hits(model, scorer, _sequences(40, 1), 10, classes, [0, 1])["whole"]["temporal head"] <= 26


def test_the_frame_cache_is_kept_for_a_new_head_and_dropped_for_a_new_tower():
    train_temporal_head = _script()
    model, processor = tiny_model_and_processor(temporal_pooling="transformer")
    before = train_temporal_head.frame_encoder_fingerprint(model, processor)
    with torch.no_grad():
        next(model.temporal_pooling.parameters()).add_(1.0)  # a new head: frame embeddings are the same
        assert train_temporal_head.frame_encoder_fingerprint(model, processor) == before
        model.visual_projection.weight.add_(1.0)  # a new tower: they are not
        assert train_temporal_head.frame_encoder_fingerprint(model, processor) != before


def test_frames_rendered_by_the_cache_workers_embed_as_the_processor_embeds_them(captured_bu4dfe, tmp_path):
    model, processor = tiny_model_and_processor()
    samples = sorted(scan_dataset(captured_bu4dfe, "bu4dfe"), key=lambda sample: sample.key)[:3]
    build = CacheBuild(tmp_path / "cache", "bu4dfe", workers=2, progress=False)
    sequences = embed_sequences(model, processor, samples, model.config.label2id, build)
    assert [sequence.key for sequence in sequences] == [sample.key for sample in samples]
    for sample, sequence in zip(samples, sequences):
        with torch.no_grad():
            direct = model.get_face_features(processor(meshes=list(sample.files))["pixel_values"])
        assert sequence.subject == sample.subject and sequence.label == model.config.label2id[sample.label]
        assert sequence.frames.shape == direct.shape == (len(sample.files), model.config.projection_dim)
        assert torch.allclose(sequence.frames, direct, atol=1e-6)


def _script():
    spec = importlib.util.spec_from_file_location("train_temporal_head", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_compares_the_methods_per_seed_and_installs_a_head_that_leaves_3d_alone(captured_bu4dfe, tmp_path):
    train_temporal_head = _script()
    model, processor = tiny_model_and_processor()
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    (tmp_path / "model" / "training_summary.json").write_text('{"steps": 7}')
    out, installed = tmp_path / "out", tmp_path / "with-head"
    assert train_temporal_head.main([
        "--model", str(tmp_path / "model"), "--data-dir", str(captured_bu4dfe), "--folds", "2", "--seeds", "0,1",
        "--steps", "3", "--num-frames", "4", "--out", str(out), "--install", str(installed),
        "--cache-dir", str(tmp_path / "cache"), "--render-workers", "0"]) == 0
    results = json.loads((out / "temporal_results.json").read_text())
    assert results["num_sequences"] == 8 and len(results["per_seed"]) == 2
    assert set(results["summary"]) == {"whole", "first half"}
    assert set(results["summary"]["whole"]) == set(METHODS) and (out / "temporal_results.png").is_file()

    assert json.loads((installed / "training_summary.json").read_text()) == {"steps": 7}  # the 3D training, kept
    with_head, _ = load_pretrained(installed)
    assert with_head.config.temporal_pooling == "transformer"
    before, after = load_file(tmp_path / "model" / "model.safetensors"), load_file(installed / "model.safetensors")
    assert {name for name in after if name not in before} and all(name.startswith("temporal_pooling") for name in after
                                                                     if name not in before)
    for name, tensor in before.items():  # nothing a 3D face goes through has changed
        if not name.startswith("temporal_pooling"):
            assert torch.equal(tensor, after[name]), name
