"""AffectVLM training losses: multiview contrastive, multiview triplet, face-prompt InfoNCE, cross-entropy.

All embeddings are assumed L2-normalised, so similarity = dot product = cosine.
Every batch-level term sees the GLOBAL batch: inputs are gathered across ranks with gradients
(see ``gather_features``). This file is shipped as Hugging Face remote code, so it imports only torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

LOSS_TERMS = ("contrastive", "triplet", "infonce", "cross_entropy")


def check_loss_weights(weights: dict[str, float]) -> dict[str, float]:
    """The terms that are on, in `LOSS_TERMS` order, or ValueError for an unknown term, a negative weight or no
    positive weight (the one check: the config and the loss both use it)."""
    unknown = sorted(set(weights) - set(LOSS_TERMS))
    if unknown:
        raise ValueError(f"unknown loss term(s) {unknown}; valid terms are {LOSS_TERMS}")
    negative = {name: weight for name, weight in weights.items() if weight < 0}
    if negative:
        raise ValueError(f"loss weights must be >= 0, got {negative}")
    active = {name: float(weights[name]) for name in LOSS_TERMS if weights.get(name, 0) > 0}
    if not active:
        raise ValueError(f"at least one loss term needs a positive weight; valid terms are {LOSS_TERMS}")
    return active

# Inputs each term needs from AffectVLMLoss.forward (labels is always required).
_TERM_INPUTS = {
    "contrastive": ("view_embeds",),
    "triplet": ("view_embeds",),
    "infonce": ("face_embeds", "text_embeds", "logit_scale"),
    "cross_entropy": ("class_logits",),
}


class _AllGatherWithGradient(torch.autograd.Function):
    """all_gather whose backward sums every rank's gradient for the local rows (all_reduce, then slice).

    Written here rather than taken from ``torch.distributed.nn`` (deprecated in torch 2.13) so that it
    works the same on gloo and NCCL; shards may differ in length (a short last batch).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        sizes = _gather_sizes(x)
        ctx.sizes, ctx.rank = sizes, dist.get_rank()
        return _pad_gather_unpad(x, sizes)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]]


def _gather_sizes(x: torch.Tensor) -> list[int]:
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    return [int(s) for s in sizes]


def _pad_gather_unpad(x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """all_gather for shards of different lengths: pad each to the longest, gather, drop the padding."""
    longest = max(sizes)
    padded = x.new_zeros((longest, *x.shape[1:]))
    padded[: x.shape[0]] = x
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:size] for part, size in zip(parts, sizes)], dim=0)


def gather_features(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from all ranks along dim 0 (rank order), keeping gradients for float tensors.

    Pair-based losses need negatives/positives from the whole global batch, not just the local shard.
    In backward, every rank's gradient for the local rows is SUMMED; since every rank computes the same
    global loss, each rank's local gradient is world_size times the single-process gradient, which DDP's
    averaging over ranks turns back into exactly the global gradient. Non-float tensors (labels) are
    gathered without autograd. Shards may differ in length along dim 0.
    Without an initialised process group of more than one rank, ``x`` is returned unchanged.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    if x.is_floating_point():
        return _AllGatherWithGradient.apply(x)
    return _pad_gather_unpad(x, _gather_sizes(x))


class LearnableMargin(nn.Module):
    """A scalar margin learned within (low, high): ``low + (high - low) * sigmoid(raw)``.

    The sigmoid keeps the margin bounded however hard the optimiser pushes (a free margin would be
    driven to whichever extreme trivially lowers the loss). Float32 rounding could only land it exactly
    on a bound once |raw| > ~17, which the vanishing sigmoid gradient keeps SGD/Adam from reaching.
    """

    def __init__(self, init: float = 0.3, low: float = 0.0, high: float = 1.0) -> None:
        super().__init__()
        if not low < init < high:
            raise ValueError(f"LearnableMargin needs low < init < high, got low={low}, init={init}, high={high}")
        self.low, self.high, self.init = float(low), float(high), float(init)
        self.raw = nn.Parameter(torch.tensor(self.initial_raw()))

    def initial_raw(self) -> float:
        """The raw value at which forward() returns `init` (the inverse of the sigmoid map)."""
        fraction = (self.init - self.low) / (self.high - self.low)
        return math.log(fraction / (1.0 - fraction))

    def forward(self) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.sigmoid(self.raw)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over ``mask``; 0 (still in the graph) when the mask is empty, never NaN."""
    return (values * mask).sum() / mask.sum().clamp(min=1)


def _flatten_views(view_embeds: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, V, D) embeddings + (B,) labels -> (B*V, D) embeddings each carrying its sample's label."""
    b, v, d = view_embeds.shape
    return view_embeds.reshape(b * v, d), labels.repeat_interleave(v)


def _pair_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive (same label, i != j) and negative (different label) masks over ordered pairs."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def multiview_contrastive_loss(
    view_embeds: torch.Tensor, labels: torch.Tensor, margin: torch.Tensor | float
) -> torch.Tensor:
    """Multiview contrastive loss L_mc pulling same-emotion views together and pushing others apart.

    ``view_embeds`` (B, V, D) is flattened to N = B*V embeddings, each with its sample's label.
    Over ordered pairs i != j with s_ij = e_i . e_j: positives share a label (other views of the same
    face and views of other faces with that emotion), negatives do not.
    L_mc = mean_pos (1 - s_ij)^2 + mean_neg relu(s_ij - margin)^2, an empty mean counting as 0.
    """
    emb, lab = _flatten_views(view_embeds, labels)
    sim = emb @ emb.T
    pos, neg = _pair_masks(lab)
    return _masked_mean((1 - sim) ** 2, pos) + _masked_mean(F.relu(sim - margin) ** 2, neg)


def multiview_triplet_loss(
    view_embeds: torch.Tensor, labels: torch.Tensor, margin: torch.Tensor | float
) -> torch.Tensor:
    """Batch-hard multiview triplet loss L_mt over the N = B*V flattened view embeddings.

    For each anchor i: hardest positive p = argmin_{j != i, same label} s_ij, hardest negative
    n = argmax_{k, other label} s_ik, loss_i = relu(s_in - s_ip + margin). L_mt is the mean over
    anchors having at least one positive and one negative (0 if there are none).
    """
    emb, lab = _flatten_views(view_embeds, labels)
    sim = emb @ emb.T
    pos, neg = _pair_masks(lab)
    hardest_pos = sim.masked_fill(~pos, math.inf).amin(dim=1)
    hardest_neg = sim.masked_fill(~neg, -math.inf).amax(dim=1)
    valid = pos.any(dim=1) & neg.any(dim=1)
    # An anchor lacking a positive or a negative gets a -inf difference (never NaN); where() drops it.
    per_anchor = F.relu(torch.where(valid, hardest_neg - hardest_pos, 0.0) + margin)
    return _masked_mean(per_anchor, valid)


def face_prompt_infonce(
    face_embeds: torch.Tensor, text_embeds: torch.Tensor, labels: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric face<->prompt InfoNCE with multi-positive soft targets.

    ``face_embeds`` and ``text_embeds`` are (B, D); text b is the prompt written for face b, and
    logits = logit_scale * F @ T^T with ``logit_scale`` already exponentiated. Several faces in a batch
    share an emotion, so a face's target is uniform over all texts with its label (and vice versa);
    loss = 0.5 * (CE_face->text + CE_text->face). With all labels distinct this is the CLIP loss.
    """
    logits = logit_scale * face_embeds @ text_embeds.T
    same = (labels[:, None] == labels[None, :]).to(logits.dtype)
    targets = same / same.sum(dim=1, keepdim=True)  # symmetric mask: same targets both directions
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


@dataclass
class LossOutput:
    """Weighted total for backward, plus each active term's unweighted value (graph kept) for logging."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor]


class AffectVLMLoss(nn.Module):
    """The AffectVLM objective: a weighted sum of the terms in ``LOSS_TERMS``.

    ``weights`` maps term name -> weight; absent or zero-weight terms are off. The contrastive and
    triplet terms share one learnable margin (``.margin``; ``None`` when neither is on, so DDP never
    sees an unused parameter).
    """

    def __init__(
        self,
        weights: dict[str, float],
        margin_init: float = 0.3,
        margin_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        self.weights = check_loss_weights(weights)
        uses_margin = "contrastive" in self.weights or "triplet" in self.weights
        self.margin = LearnableMargin(margin_init, *margin_range) if uses_margin else None

    def forward(
        self,
        *,
        labels: torch.Tensor,
        view_embeds: torch.Tensor | None = None,
        face_embeds: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        logit_scale: torch.Tensor | None = None,
        class_logits: torch.Tensor | None = None,
    ) -> LossOutput:
        """Compute active terms; batch-level terms use inputs gathered over all ranks.

        ``labels`` (B,) and every embedding are the LOCAL batch. ``class_logits`` (B, num_labels) stays
        local: DDP's gradient averaging already makes its mean cross-entropy global.
        """
        inputs = {
            "view_embeds": view_embeds,
            "face_embeds": face_embeds,
            "text_embeds": text_embeds,
            "logit_scale": logit_scale,
            "class_logits": class_logits,
        }
        # Validate before any collective so a bad call fails instead of hanging other ranks.
        for name in self.weights:
            missing = [key for key in _TERM_INPUTS[name] if inputs[key] is None]
            if missing:
                raise ValueError(f"loss term '{name}' is on but its input(s) {missing} were not given")

        global_labels = gather_features(labels) if self.weights.keys() - {"cross_entropy"} else labels
        terms: dict[str, torch.Tensor] = {}
        if self.margin is not None:
            views = gather_features(view_embeds)
            margin = self.margin()
            if "contrastive" in self.weights:
                terms["contrastive"] = multiview_contrastive_loss(views, global_labels, margin)
            if "triplet" in self.weights:
                terms["triplet"] = multiview_triplet_loss(views, global_labels, margin)
        if "infonce" in self.weights:
            terms["infonce"] = face_prompt_infonce(
                gather_features(face_embeds), gather_features(text_embeds), global_labels, logit_scale
            )
        if "cross_entropy" in self.weights:
            terms["cross_entropy"] = F.cross_entropy(class_logits, labels)
        total = sum(self.weights[name] * value for name, value in terms.items())
        return LossOutput(total=total, terms=terms)
