"""AffectVLM losses checked against slow, loop-based references (values and gradients)."""

import pytest
import torch
import torch.nn.functional as F

from affectvlm.model.losses_affectvlm import (
    LOSS_TERMS,
    AffectVLMLoss,
    LearnableMargin,
    LossOutput,
    face_prompt_infonce,
    gather_features,
    multiview_contrastive_loss,
    multiview_triplet_loss,
)

TOL = dict(atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- loop references


def _flat(view_embeds, labels):
    """List of (embedding, label) for every view of every sample."""
    batch, views = view_embeds.shape[:2]
    return [(view_embeds[b, v], int(labels[b])) for b in range(batch) for v in range(views)]


def _mean(values, anchor):
    """Mean of a list of scalar tensors; an empty list gives a zero still attached to ``anchor``'s graph."""
    return sum(values) / len(values) if values else anchor.sum() * 0.0


def ref_contrastive(view_embeds, labels, margin):
    items = _flat(view_embeds, labels)
    pos, neg = [], []
    for i, (ei, li) in enumerate(items):
        for j, (ej, lj) in enumerate(items):
            if i == j:
                continue
            s = torch.dot(ei, ej)
            if li == lj:
                pos.append((1 - s) ** 2)
            else:
                neg.append(torch.relu(s - margin) ** 2)
    return _mean(pos, view_embeds) + _mean(neg, view_embeds)


def ref_triplet(view_embeds, labels, margin):
    items = _flat(view_embeds, labels)
    losses = []
    for i, (ei, li) in enumerate(items):
        pos = [torch.dot(ei, ej) for j, (ej, lj) in enumerate(items) if j != i and lj == li]
        neg = [torch.dot(ei, ek) for ek, lk in items if lk != li]
        if pos and neg:
            losses.append(torch.relu(max(neg) - min(pos) + margin))
    return _mean(losses, view_embeds)


def _ref_soft_ce(queries, keys, labels, scale):
    """Mean over queries q of -sum_k target_qk * log_softmax(scale * q.k), target uniform over same-label keys."""
    total = 0.0
    for a in range(len(queries)):
        logits = [scale * torch.dot(queries[a], keys[k]) for k in range(len(keys))]
        log_z = torch.logsumexp(torch.stack(logits), dim=0)
        same = [k for k in range(len(keys)) if labels[k] == labels[a]]
        total = total - sum(logits[k] - log_z for k in same) / len(same)
    return total / len(queries)


def ref_infonce(face_embeds, text_embeds, labels, scale):
    face_to_text = _ref_soft_ce(face_embeds, text_embeds, labels, scale)
    text_to_face = _ref_soft_ce(text_embeds, face_embeds, labels, scale)
    return 0.5 * (face_to_text + text_to_face)


# ---------------------------------------------------------------- fixtures

LABEL_PATTERNS = {
    "random": torch.tensor([0, 2, 1, 2, 0, 3, 2]),
    "one_label": torch.tensor([1, 1, 1, 1, 1]),
    "distinct": torch.tensor([0, 1, 2, 3, 4, 5]),
    "single_sample": torch.tensor([4]),
}


def _unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g), dim=-1).requires_grad_()


def _assert_same_value_and_grads(ours, ref, inputs):
    torch.testing.assert_close(ours, ref, **TOL)
    # An input the reference never touches (the margin when there are no negatives) has gradient 0.
    got = torch.autograd.grad(ours, inputs, retain_graph=True, allow_unused=True, materialize_grads=True)
    want = torch.autograd.grad(ref, inputs, allow_unused=True, materialize_grads=True)
    for g, w in zip(got, want):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, w, **TOL)


# ---------------------------------------------------------------- per-term correctness


@pytest.mark.parametrize("pattern", LABEL_PATTERNS)
def test_multiview_contrastive_matches_reference(pattern):
    labels = LABEL_PATTERNS[pattern]
    views = _unit(len(labels), 3, 8, seed=1)
    margin_module = LearnableMargin(0.2)
    margin = margin_module()
    _assert_same_value_and_grads(
        multiview_contrastive_loss(views, labels, margin),
        ref_contrastive(views, labels, margin),
        (views, margin_module.raw),
    )


@pytest.mark.parametrize("pattern", LABEL_PATTERNS)
def test_multiview_triplet_matches_reference(pattern):
    labels = LABEL_PATTERNS[pattern]
    views = _unit(len(labels), 3, 8, seed=2)
    margin_module = LearnableMargin(0.4)
    margin = margin_module()
    ours = multiview_triplet_loss(views, labels, margin)
    ref = ref_triplet(views, labels, margin)
    _assert_same_value_and_grads(ours, ref, (views, margin_module.raw))
    if pattern in ("one_label", "single_sample"):  # no negatives anywhere -> no valid anchor
        assert ours.item() == 0.0


@pytest.mark.parametrize("pattern", LABEL_PATTERNS)
def test_face_prompt_infonce_matches_reference(pattern):
    labels = LABEL_PATTERNS[pattern]
    faces, texts = _unit(len(labels), 8, seed=3), _unit(len(labels), 8, seed=4)
    scale = torch.tensor(7.5, requires_grad=True)
    _assert_same_value_and_grads(
        face_prompt_infonce(faces, texts, labels, scale),
        ref_infonce(faces, texts, labels, scale),
        (faces, texts, scale),
    )


def test_infonce_with_distinct_labels_is_clip_loss():
    faces, texts = _unit(6, 8, seed=5), _unit(6, 8, seed=6)
    scale = torch.tensor(20.0)
    logits = scale * faces @ texts.T
    target = torch.arange(6)
    clip = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    torch.testing.assert_close(face_prompt_infonce(faces, texts, torch.arange(6) * 3, scale), clip, **TOL)


def test_identical_embeddings_per_class_zero_positive_part():
    labels = torch.tensor([0, 1, 0, 2, 1])
    prototypes = _unit(3, 8, seed=7).detach()
    views = prototypes[labels][:, None, :].expand(-1, 4, -1).clone().requires_grad_()
    # Margin 1: relu(s - 1) = 0 for distinct unit vectors, so only the positive part could be non-zero.
    loss = multiview_contrastive_loss(views, labels, 1.0)
    assert loss.item() < 1e-10
    (grad,) = torch.autograd.grad(loss, views)
    assert grad.abs().max() < 1e-5
    # With a smaller margin the loss is exactly the negative part of the reference.
    neg_only = ref_contrastive(views, labels, 0.3)  # its positive part is (1 - 1)^2 = 0
    torch.testing.assert_close(multiview_contrastive_loss(views, labels, 0.3), neg_only, **TOL)
    assert neg_only.item() > 0


@pytest.mark.parametrize("labels", [torch.tensor([3]), torch.tensor([2, 2])])
def test_degenerate_batches_are_finite(labels):
    """One view of one face has no pairs at all; one label has no negatives: losses 0, gradients finite."""
    views_per_face = 1 if len(labels) == 1 else 2
    loss_fn = AffectVLMLoss({name: 1.0 for name in LOSS_TERMS})
    views = _unit(len(labels), views_per_face, 8, seed=8)
    faces, texts = _unit(len(labels), 8, seed=9), _unit(len(labels), 8, seed=10)
    logits = torch.randn(len(labels), 5, requires_grad=True)
    scale = torch.tensor(10.0, requires_grad=True)
    out = loss_fn(
        labels=labels, view_embeds=views, face_embeds=faces, text_embeds=texts, logit_scale=scale, class_logits=logits
    )
    assert out.terms["triplet"].item() == 0.0
    if len(labels) == 1:
        assert out.terms["contrastive"].item() == 0.0
    grads = torch.autograd.grad(out.total, [views, faces, texts, logits, scale, loss_fn.margin.raw])
    assert all(torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(out.total)


# ---------------------------------------------------------------- learnable margin


def test_margin_initial_value_and_validation():
    assert LearnableMargin(0.3)().item() == pytest.approx(0.3, abs=1e-6)
    assert LearnableMargin(0.5, 0.2, 2.0)().item() == pytest.approx(0.5, abs=1e-6)
    for bad in [(0.0, 0.0, 1.0), (1.0, 0.0, 1.0), (0.5, 0.6, 1.0), (0.5, 1.0, 0.0)]:
        with pytest.raises(ValueError, match="low < init < high"):
            LearnableMargin(*bad)


@pytest.mark.parametrize("make_opt", [lambda p: torch.optim.SGD(p, lr=5.0), lambda p: torch.optim.Adam(p, lr=1.0)],
                         ids=["sgd", "adam"])
@pytest.mark.parametrize("direction", [1.0, -1.0], ids=["up", "down"])
def test_margin_stays_strictly_inside_when_pushed_outward(make_opt, direction):
    margin = LearnableMargin(0.3, 0.1, 0.6)
    opt = make_opt(margin.parameters())
    for _ in range(2000):
        opt.zero_grad()
        (-direction * margin()).backward()  # push the margin up (or down) as hard as possible
        opt.step()
        assert 0.1 < margin().item() < 0.6
    assert abs(margin().item() - (0.6 if direction > 0 else 0.1)) < 0.01  # it did move toward the bound


# ---------------------------------------------------------------- AffectVLMLoss


def _all_inputs(batch=5, seed=11):
    labels = torch.tensor([0, 1, 0, 2, 1])[:batch]
    return dict(
        labels=labels,
        view_embeds=_unit(batch, 2, 8, seed=seed),
        face_embeds=_unit(batch, 8, seed=seed + 1),
        text_embeds=_unit(batch, 8, seed=seed + 2),
        logit_scale=torch.tensor(12.0, requires_grad=True),
        class_logits=torch.randn(batch, 3, generator=torch.Generator().manual_seed(seed), requires_grad=True),
    )


def test_total_is_weighted_sum_of_unweighted_terms():
    weights = {"contrastive": 1.0, "triplet": 0.5, "infonce": 2.0, "cross_entropy": 0.25}
    loss_fn = AffectVLMLoss(weights, margin_init=0.35)
    inputs = _all_inputs()
    out = loss_fn(**inputs)
    assert isinstance(out, LossOutput)
    assert set(out.terms) == set(LOSS_TERMS)
    margin = loss_fn.margin()
    expected = {
        "contrastive": ref_contrastive(inputs["view_embeds"], inputs["labels"], margin),
        "triplet": ref_triplet(inputs["view_embeds"], inputs["labels"], margin),
        "infonce": ref_infonce(inputs["face_embeds"], inputs["text_embeds"], inputs["labels"], inputs["logit_scale"]),
        "cross_entropy": F.cross_entropy(inputs["class_logits"], inputs["labels"]),
    }
    for name, value in expected.items():
        torch.testing.assert_close(out.terms[name], value, **TOL)
        assert out.terms[name].requires_grad  # graph kept; the caller decides when to detach
    torch.testing.assert_close(out.total, sum(weights[n] * out.terms[n] for n in LOSS_TERMS), **TOL)


def test_zero_and_absent_weights_turn_terms_off():
    loss_fn = AffectVLMLoss({"infonce": 1.0, "triplet": 0.0})
    assert loss_fn.margin is None  # no margin-using term -> no (unused) margin parameter
    inputs = _all_inputs()
    out = loss_fn(labels=inputs["labels"], face_embeds=inputs["face_embeds"], text_embeds=inputs["text_embeds"],
                  logit_scale=inputs["logit_scale"])
    assert list(out.terms) == ["infonce"]
    torch.testing.assert_close(out.total, out.terms["infonce"])


def test_margin_is_shared_and_learnable():
    loss_fn = AffectVLMLoss({"contrastive": 1.0, "triplet": 1.0}, margin_init=0.4, margin_range=(0.1, 0.9))
    assert isinstance(loss_fn.margin, LearnableMargin)
    assert [name for name, _ in loss_fn.named_parameters()] == ["margin.raw"]
    assert loss_fn.margin().item() == pytest.approx(0.4, abs=1e-6)
    inputs = _all_inputs()
    out = loss_fn(labels=inputs["labels"], view_embeds=inputs["view_embeds"])
    (grad,) = torch.autograd.grad(out.total, loss_fn.margin.raw)
    assert grad.item() != 0.0


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"contrastive": 1.0, "focal": 1.0}, r"unknown loss term\(s\) \['focal'\].*contrastive.*cross_entropy"),
        ({}, "at least one loss term"),
        ({"contrastive": 0.0, "infonce": 0}, "at least one loss term"),
        ({"triplet": -1.0}, "must be >= 0"),
    ],
)
def test_bad_weights_raise(weights, message):
    with pytest.raises(ValueError, match=message):
        AffectVLMLoss(weights)


@pytest.mark.parametrize(
    "term, drop",
    [
        ("contrastive", "view_embeds"),
        ("triplet", "view_embeds"),
        ("infonce", "face_embeds"),
        ("infonce", "text_embeds"),
        ("infonce", "logit_scale"),
        ("cross_entropy", "class_logits"),
    ],
)
def test_missing_input_raises_naming_term_and_input(term, drop):
    inputs = _all_inputs()
    inputs[drop] = None
    with pytest.raises(ValueError, match=rf"'{term}' is on but its input\(s\) \['{drop}'\]"):
        AffectVLMLoss({term: 1.0})(**inputs)


def test_gather_features_is_identity_without_distributed():
    x = torch.randn(3, 4)
    assert gather_features(x) is x
    labels = torch.tensor([1, 2, 3])
    assert gather_features(labels) is labels
