"""4D: frames x views -> per-frame and sequence embeddings, frame sampling, training and evaluation on sequences."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from affectvlm.evaluation.evaluate import FoldFaces, evaluate_folds
from affectvlm.model.processing_affectvlm import sample_frame_indices
from affectvlm.synthetic import NO_VARIATION, SequenceClip, synthesize_sequence
from affectvlm.synthetic.openings import _boundary_loops
from affectvlm.training.augment import ViewAugmentation, augment_sequence
from affectvlm.training.config import TrainConfig
from affectvlm.training.trainer import train
from conftest import tiny_model_and_processor


def test_a_sequence_is_scored_whole_and_frame_by_frame():
    model, processor = tiny_model_and_processor(temporal_pooling="attention")
    sequences = [synthesize_sequence(1, "surprise", SequenceClip(7)), synthesize_sequence(2, "anger", SequenceClip(9))]
    batch = processor(sequences=sequences, num_frames=4, labels=["surprise", "anger"])
    assert batch["pixel_values"].shape == (2, 4, 3, 3, 32, 32)
    output = model(**batch)
    assert output.logits.shape == (2, 6) and output.frame_logits.shape == (2, 4, 6)
    assert output.frame_embeds.shape == (2, 4, 32) and output.view_embeds.shape == (2, 3, 32)
    torch.testing.assert_close(output.frame_weights, torch.full((2, 4), 0.25))  # attention starts as the mean
    output.loss.backward()
    assert model.temporal_pooling.scorer[2].weight.grad is not None


def test_a_4d_face_keeps_one_shape_warp_and_its_filled_eyes_and_mouth_on_every_frame():
    """Shape and scanner look belong to the person and the capture, not to a frame."""
    plain = synthesize_sequence(4, "surprise", SequenceClip(5), NO_VARIATION)
    scanned = dataclasses.replace(NO_VARIATION, eye_fill=1.0, mouth_fill=1.0, shape_warp=0.3)
    shifts = []
    for before, after in zip(plain, synthesize_sequence(4, "surprise", SequenceClip(5), scanned), strict=True):
        assert len(after.vertices) == len(before.vertices) + 3 and len(_boundary_loops(after.faces)) == 1
        shifts.append(after.vertices[:len(before.vertices)] - before.vertices)
    assert np.median(np.linalg.norm(shifts[0], axis=1)) > 0.05  # centimetres: the warp is there
    for shift in shifts[1:]:
        np.testing.assert_allclose(shift, shifts[0], atol=1e-4)  # and the same on every frame


def test_one_frame_sequence_equals_the_3d_face_and_chunking_changes_nothing():
    model, processor = tiny_model_and_processor()
    frames = synthesize_sequence(3, "happiness", SequenceClip(6))
    still = processor(meshes=frames[3])["pixel_values"]
    with torch.no_grad():
        torch.testing.assert_close(model(pixel_values=still.unsqueeze(1)).logits, model(pixel_values=still).logits)
        clip = processor(sequences=[frames])["pixel_values"]
        whole = model(pixel_values=clip)
        model.config.frame_chunk_size = 1  # one frame per vision-tower call
        chunked = model(pixel_values=clip)
    torch.testing.assert_close(whole.logits, chunked.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(whole.frame_logits, chunked.frame_logits, atol=1e-5, rtol=1e-5)
    assert whole.frame_logits.shape[1] == 6


def test_frame_sampling_uniform_and_around_the_apex():
    assert sample_frame_indices(10, 4) == [0, 3, 6, 9]
    assert sample_frame_indices(3, 5) == [0, 0, 1, 2, 2]  # short sequences repeat frames
    assert sample_frame_indices(5, None) == [0, 1, 2, 3, 4]
    displacement = [0, 1, 2, 5, 9, 8, 3, 1, 0, 0, 0, 0]
    chosen = sample_frame_indices(12, 3, "apex", displacement)
    assert chosen == [1, 4, 7] and 4 in chosen
    with pytest.raises(ValueError, match="frame_sampling"):
        sample_frame_indices(5, 2, "random")
    _, processor = tiny_model_and_processor()
    frames = synthesize_sequence(4, "fear", SequenceClip(12))
    apex = processor(sequences=[frames], num_frames=1, frame_sampling="apex")["pixel_values"]
    apex_frame = processor(meshes=frames[6])["pixel_values"]  # the middle of the apex phase
    assert (apex[0, 0] - apex_frame[0]).abs().mean() < (apex[0, 0] - processor(meshes=frames[0])["pixel_values"][0]).abs().mean()
    with pytest.raises(ValueError, match="pass num_frames"):
        processor(sequences=[frames[:5], frames[:6]])


@pytest.mark.parametrize("render_mode", ["shaded", "normals"])
def test_sequence_augmentation_keeps_each_view_consistent_over_time(render_mode):
    frame = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    clip = frame.expand(4, 3, 3, 16, 16).clone()  # a still sequence
    out = augment_sequence(clip, ViewAugmentation(), torch.Generator().manual_seed(1), render_mode)
    for t in range(1, 4):
        torch.testing.assert_close(out[t], out[0])  # same transform for every frame of a view
    assert not torch.allclose(out[0, 0], out[0, 1])  # views still differ from each other


def _sequence_config(root, tmp_path, run: str, **overrides) -> TrainConfig:
    settings = dict(
        data_dir=str(root), layout="bu4dfe", cache_dir=str(tmp_path.parent / "cache"), output_dir=str(tmp_path / run),
        model_preset="tiny", labels=["anger", "surprise"], folds=4, batch_size=2, max_steps=4, warmup_steps=1,
        eval_every=2, checkpoint_every=2, render_workers=0, cpu=True, num_frames=3, temporal_pooling="transformer",
        frame_sampling="apex")
    return TrainConfig(**{**settings, **overrides})


def test_training_and_evaluating_on_bu4dfe_sequences(captured_bu4dfe, tmp_path):
    summary = train(_sequence_config(captured_bu4dfe, tmp_path, "run", max_steps=2))
    assert summary["steps"] == 2 and summary["test"]["num_samples"] == 2  # 1 test subject x 2 sequences
    saved = json.loads((tmp_path / "run" / "best" / "config.json").read_text())
    assert saved["temporal_pooling"] == "transformer"

    faces = FoldFaces(data_dir=str(captured_bu4dfe), layout="bu4dfe", cache_dir=str(tmp_path.parent / "cache"),
                      protocol_overrides={"folds": 4, "labels": ("anger", "surprise")}, num_frames=3)
    results = evaluate_folds(str(tmp_path / "run" / "best"), [0], faces)
    assert results["task"] == "4d" and results["sequence"]["num_frames"] == 3
    for name in ("sequence_accuracy", "frame_accuracy", "voting_accuracy"):
        assert 0.0 <= results["sequence"][name]["mean"] <= 1.0
    assert results["sequence"]["sequence_accuracy"]["mean"] == results["summary"]["accuracy"]["mean"]


def test_a_resumed_4d_run_with_the_temporal_head_ends_exactly_like_an_uninterrupted_one(captured_bu4dfe, tmp_path):
    train(_sequence_config(captured_bu4dfe, tmp_path, "straight"))
    train(_sequence_config(captured_bu4dfe, tmp_path, "resumed", stop_after_steps=2))
    train(_sequence_config(captured_bu4dfe, tmp_path, "resumed"))
    expected = load_file(tmp_path / "straight" / "final" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "final" / "model.safetensors")
    assert any(name.startswith("temporal_pooling.encoder") for name in expected)
    for name in expected:
        assert torch.equal(expected[name], resumed[name]), name


def _rise_or_fall(count: int, frames: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame embeddings of an expression that rises (label 0) or falls (label 1): the same frames in the
    opposite order, so that any pooling blind to order sees the two classes alike."""
    neutral, apex = torch.randn(2, 32, generator=torch.Generator().manual_seed(7))  # one face, one expression
    levels = torch.linspace(0.0, 1.0, frames)
    labels = torch.randint(0, 2, (count,), generator=generator)
    ordered = torch.where(labels[:, None] == 0, levels, levels.flip(0))
    embeds = neutral + ordered[..., None] * (apex - neutral) + 0.3 * torch.randn(count, frames, 32, generator=generator)
    return torch.nn.functional.normalize(embeds, dim=-1), labels


def _fit_order_task(pooling: str) -> float:
    """Accuracy on new sequences of a pooling trained, with a linear read-out, to tell rise from fall."""
    model, _ = tiny_model_and_processor(temporal_pooling=pooling, temporal_dropout=0.0)
    readout = torch.nn.Linear(32, 2)
    generator = torch.Generator().manual_seed(0)
    train_embeds, train_labels = _rise_or_fall(256, 8, generator)
    parameters = list(model.temporal_pooling.parameters()) + list(readout.parameters())
    optimizer = torch.optim.Adam(parameters, lr=3e-3)
    model.train()
    for _ in range(150):
        pooled, _ = model.pool_frames(train_embeds)
        loss = torch.nn.functional.cross_entropy(readout(pooled), train_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    test_embeds, test_labels = _rise_or_fall(256, 8, torch.Generator().manual_seed(1))
    with torch.no_grad():
        return (readout(model.pool_frames(test_embeds)[0]).argmax(-1) == test_labels).float().mean().item()


def test_the_temporal_transformer_tells_a_rise_from_a_fall_where_a_mean_cannot():
    assert _fit_order_task("transformer") >= 0.95
    assert _fit_order_task("mean") <= 0.65


def test_the_temporal_transformer_starts_as_the_mean_and_round_trips(tmp_path):
    model, processor = tiny_model_and_processor(temporal_pooling="transformer")
    frames = torch.nn.functional.normalize(torch.randn(2, 5, 32, generator=torch.Generator().manual_seed(2)), dim=-1)
    pooled, weights = model.pool_frames(frames)
    torch.testing.assert_close(weights, torch.full((2, 5), 0.2))
    torch.testing.assert_close(pooled, torch.nn.functional.normalize(frames.mean(1), dim=-1))
    with torch.no_grad():  # move it off the mean, so that a reload that re-initialised it would show
        for parameter in model.temporal_pooling.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    moved = model.pool_frames(frames)
    model.save_pretrained(tmp_path)
    reloaded = type(model).from_pretrained(tmp_path).eval()
    assert reloaded.config.temporal_pooling == "transformer"
    again = reloaded.pool_frames(frames)
    torch.testing.assert_close(again[0], moved[0])
    torch.testing.assert_close(again[1], moved[1])
