"""4D: frames x views -> per-frame and sequence embeddings, frame sampling, training and evaluation on sequences."""

import json

import pytest
import torch

from affectvlm.evaluation.evaluate import FoldFaces, evaluate_folds
from affectvlm.model.processing_affectvlm import sample_frame_indices
from affectvlm.synthetic import DatasetRequest, SyntheticRequest, synthesize_sequence, write_synthetic_dataset
from affectvlm.training.augment import ViewAugmentation, augment_sequence
from affectvlm.training.config import TrainConfig
from affectvlm.training.trainer import train
from conftest import tiny_model_and_processor


def test_a_sequence_is_scored_whole_and_frame_by_frame():
    model, processor = tiny_model_and_processor(temporal_pooling="attention")
    sequences = [synthesize_sequence(1, "surprise", 7), synthesize_sequence(2, "anger", 9)]
    batch = processor(sequences=sequences, num_frames=4, labels=["surprise", "anger"])
    assert batch["pixel_values"].shape == (2, 4, 3, 3, 32, 32)
    output = model(**batch)
    assert output.logits.shape == (2, 6) and output.frame_logits.shape == (2, 4, 6)
    assert output.frame_embeds.shape == (2, 4, 32) and output.view_embeds.shape == (2, 3, 32)
    torch.testing.assert_close(output.frame_weights, torch.full((2, 4), 0.25))  # attention starts as the mean
    output.loss.backward()
    assert model.temporal_pooling.scorer[2].weight.grad is not None


def test_one_frame_sequence_equals_the_3d_face_and_chunking_changes_nothing():
    model, processor = tiny_model_and_processor()
    frames = synthesize_sequence(3, "happiness", 6)
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
    frames = synthesize_sequence(4, "fear", 12)
    apex = processor(sequences=[frames], num_frames=1, frame_sampling="apex")["pixel_values"]
    apex_frame = processor(meshes=frames[6])["pixel_values"]  # the middle of the apex phase
    assert (apex[0, 0] - apex_frame[0]).abs().mean() < (apex[0, 0] - processor(meshes=frames[0])["pixel_values"][0]).abs().mean()
    with pytest.raises(ValueError, match="pass num_frames"):
        processor(sequences=[frames[:5], frames[:6]])


def test_sequence_augmentation_keeps_each_view_consistent_over_time():
    frame = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    clip = frame.expand(4, 3, 3, 16, 16).clone()  # a still sequence
    out = augment_sequence(clip, ViewAugmentation(), torch.Generator().manual_seed(1))
    for t in range(1, 4):
        torch.testing.assert_close(out[t], out[0])  # same transform for every frame of a view
    assert not torch.allclose(out[0, 0], out[0, 1])  # views still differ from each other


def test_training_and_evaluating_on_bu4dfe_sequences(tmp_path):
    root = tmp_path / "bu4dfe"
    write_synthetic_dataset(DatasetRequest(root, "bu4dfe", 4, SyntheticRequest(
        emotions=("anger", "surprise"), frames=6, texture_size=16)))
    config = TrainConfig(
        data_dir=str(root), layout="bu4dfe", cache_dir=str(tmp_path / "cache"), output_dir=str(tmp_path / "run"),
        model_preset="tiny", labels=["anger", "surprise"], folds=4, batch_size=2, max_steps=2, warmup_steps=1,
        eval_every=2, checkpoint_every=2, render_workers=0, cpu=True, num_frames=3, temporal_pooling="attention",
    )
    summary = train(config)
    assert summary["steps"] == 2 and summary["test"]["num_samples"] == 2  # 1 test subject x 2 sequences
    saved = json.loads((tmp_path / "run" / "best" / "config.json").read_text())
    assert saved["temporal_pooling"] == "attention"

    faces = FoldFaces(data_dir=str(root), layout="bu4dfe", cache_dir=str(tmp_path / "cache"),
                      protocol_overrides={"folds": 4, "labels": ("anger", "surprise")}, num_frames=3)
    results = evaluate_folds(str(tmp_path / "run" / "best"), [0], faces)
    assert results["task"] == "4d" and results["sequence"]["num_frames"] == 3
    for name in ("sequence_accuracy", "frame_accuracy", "voting_accuracy"):
        assert 0.0 <= results["sequence"][name]["mean"] <= 1.0
    assert results["sequence"]["sequence_accuracy"]["mean"] == results["summary"]["accuracy"]["mean"]
