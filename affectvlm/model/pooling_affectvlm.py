"""Pooling many embeddings into one: views into a face, frames into a sequence.

A mean or a learned softmax score per item sees a bag: it cannot tell an expression that rises from one that
falls, nor a held apex from a blink. The temporal transformer reads the frames in order (their time within
the sequence is added to each) before it scores them, so the weights it gives depend on what came before
and after.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .configuration_affectvlm import AffectVLMConfig

# Frequencies of the time features: a frame's position in the sequence, 0 (first) to 1 (last), so that a
# sequence of any length, or frames sampled from one, gets positions the model knows.
TIME_FREQUENCIES = 8


class AffectVLMViewFusion(nn.Module):
    """Views -> one face embedding: a uniform mean, or softmax weights from a small learned scorer.

    The same module (with its own weights) pools the frames of a 4D sequence into one embedding.
    """

    def __init__(self, config: AffectVLMConfig, mode: str | None = None):
        super().__init__()
        self.mode = mode or config.view_fusion
        if self.mode == "attention":
            self.scorer = _scorer(config.projection_dim)

    def forward(self, view_embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, views, _ = view_embeds.shape
        if self.mode == "attention":
            weights = self.scorer(view_embeds).squeeze(-1).softmax(dim=-1)
        else:
            weights = view_embeds.new_full((batch, views), 1.0 / views)
        fused = torch.einsum("bv,bvd->bd", weights, view_embeds)
        return F.normalize(fused, dim=-1), weights


class AffectVLMTemporalTransformer(nn.Module):
    """Frames -> one sequence embedding: a small pre-norm transformer over the frame embeddings (plus their
    time in the sequence), then a learned softmax score per contextualised frame.

    It starts as the uniform mean (the residual branches, the time projection and the scorer's last layer
    start at zero), so fine-tuning a 3D model with it begins from that model's mean pooling.
    """

    mode = "transformer"

    def __init__(self, config: AffectVLMConfig):
        super().__init__()
        width = config.projection_dim
        layer = nn.TransformerEncoderLayer(width, config.temporal_heads, 2 * width, config.temporal_dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.temporal_layers, enable_nested_tensor=False)
        self.time_projection = nn.Linear(2 * TIME_FREQUENCIES, width)
        self.scorer = _scorer(width)

    def forward(self, frame_embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(frame_embeds + self.time_projection(time_features(frame_embeds)))
        weights = self.scorer(hidden).squeeze(-1).softmax(dim=-1)
        fused = torch.einsum("bt,btd->bd", weights, hidden)
        return F.normalize(fused, dim=-1), weights


def time_features(frame_embeds: torch.Tensor) -> torch.Tensor:
    """(batch, frames, 2 * TIME_FREQUENCIES) sines and cosines of each frame's place in its sequence."""
    frames = frame_embeds.shape[1]
    place = torch.linspace(0.0, 1.0, frames, device=frame_embeds.device, dtype=frame_embeds.dtype)
    angles = place[:, None] * math.pi * torch.arange(1, TIME_FREQUENCIES + 1, device=place.device, dtype=place.dtype)
    return torch.cat([angles.sin(), angles.cos()], dim=-1).expand(frame_embeds.shape[0], -1, -1)


def _scorer(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, max(width // 4, 8)), nn.Tanh(), nn.Linear(max(width // 4, 8), 1))


def frame_pooling(config: AffectVLMConfig) -> nn.Module:
    """The module the config's `temporal_pooling` names."""
    if config.temporal_pooling == "transformer":
        return AffectVLMTemporalTransformer(config)
    return AffectVLMViewFusion(config, mode=config.temporal_pooling)


__all__ = ["AffectVLMTemporalTransformer", "AffectVLMViewFusion", "frame_pooling", "time_features"]
