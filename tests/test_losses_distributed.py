"""A real 2-process (gloo, CPU) run: every rank's AffectVLMLoss must see the global batch.

The test launches this file as a script in a subprocess (bounded by a timeout, killed as a process
group if it hangs); the script spawns one worker per rank, each holding half of a fixed global batch,
and each worker saves what it computed to ``tmp_path`` for the test process to check.
"""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

# The loss file is Hugging Face remote code that imports only torch, so load it straight from its path:
# the launcher and both workers then skip importing the whole package (transformers, renderers: ~10 s each).
_spec = importlib.util.spec_from_file_location(
    "losses_affectvlm", Path(__file__).resolve().parents[1] / "affectvlm" / "model" / "losses_affectvlm.py"
)
losses = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(losses)
AffectVLMLoss, gather_features = losses.AffectVLMLoss, losses.gather_features

WORLD_SIZE = 2
WEIGHTS = {"contrastive": 1.0, "triplet": 0.5, "infonce": 2.0, "cross_entropy": 0.7}
FLOAT_INPUTS = ("view_embeds", "face_embeds", "text_embeds", "class_logits")
REPLICATED = ("logit_scale", "margin.raw")  # the same parameter on every rank
TOL = dict(atol=1e-5, rtol=1e-5)


def _global_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        # Every label occurs in both halves, so cross-rank positives and negatives both matter.
        "labels": torch.tensor([0, 1, 2, 0, 1, 1, 2, 0]),
        "view_embeds": F.normalize(torch.randn(8, 3, 16, generator=g), dim=-1),
        "face_embeds": F.normalize(torch.randn(8, 16, generator=g), dim=-1),
        "text_embeds": F.normalize(torch.randn(8, 16, generator=g), dim=-1),
        "class_logits": torch.randn(8, 3, generator=g),
    }


def _rows(rank: int) -> slice:
    per_rank = len(_global_batch()["labels"]) // WORLD_SIZE
    return slice(rank * per_rank, (rank + 1) * per_rank)


def _terms_and_grads(rows: slice) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """AffectVLMLoss on the given rows of the global batch; gradients of its total w.r.t. inputs and parameters."""
    batch = _global_batch()
    loss_fn = AffectVLMLoss(WEIGHTS, margin_init=0.3)
    leaves = {name: batch[name][rows].clone().requires_grad_() for name in FLOAT_INPUTS}
    logit_scale = torch.tensor(10.0, requires_grad=True)
    out = loss_fn(labels=batch["labels"][rows], logit_scale=logit_scale, **leaves)
    wrt = {**leaves, "logit_scale": logit_scale, "margin.raw": loss_fn.margin.raw}
    grads = torch.autograd.grad(out.total, list(wrt.values()))
    return {name: value.detach() for name, value in out.terms.items()}, dict(zip(wrt, grads))


UNEVEN_ROWS = (slice(0, 5), slice(5, 8))  # a short last batch: rank 0 holds 5 rows, rank 1 holds 3


def _uneven_gather(rank: int) -> dict[str, torch.Tensor]:
    """Gather shards of different lengths; the gradient of sum(weights * gathered) for the local rows."""
    views = _global_batch()["view_embeds"]
    local = views[UNEVEN_ROWS[rank]].clone().requires_grad_()
    gathered = gather_features(local)
    weights = torch.arange(gathered.numel(), dtype=gathered.dtype).reshape(gathered.shape)
    (grad,) = torch.autograd.grad((weights * gathered).sum(), local)
    labels = gather_features(_global_batch()["labels"][UNEVEN_ROWS[rank]])
    return {"views": gathered.detach(), "labels": labels, "grad": grad, "weights": weights}


def _worker(rank: int, out_dir: str, port: int) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=timedelta(seconds=60),
    )
    try:
        batch, rows = _global_batch(), _rows(rank)
        terms, grads = _terms_and_grads(rows)
        result = {
            "world_size": dist.get_world_size(),
            "rank": dist.get_rank(),
            "gathered_views": gather_features(batch["view_embeds"][rows]),
            "gathered_labels": gather_features(batch["labels"][rows]),
            "uneven": _uneven_gather(rank),
            "terms": terms,
            "grads": grads,
        }
        torch.save(result, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed with gloo")
def test_affectvlm_loss_across_two_gloo_ranks(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, __file__, str(tmp_path), str(_free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so a hang can be killed with the workers
    )
    try:
        output, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"2-process run did not finish in 120 s:\n{output}")
    assert proc.returncode == 0, output

    batch = _global_batch()
    global_terms, global_grads = _terms_and_grads(slice(None))
    results = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    for rank, result in enumerate(results):
        assert (result["world_size"], result["rank"]) == (WORLD_SIZE, rank)
        rows = _rows(rank)

        # (a) gather_features returns the full global batch, in rank order.
        torch.testing.assert_close(result["gathered_views"], batch["view_embeds"], atol=0, rtol=0)
        assert torch.equal(result["gathered_labels"], batch["labels"])

        # Shards of different lengths gather in rank order, and each rank's gradient is the sum over the
        # two ranks of d(sum(weights * gathered))/d(local rows), i.e. 2 x weights for its rows.
        uneven = result["uneven"]
        torch.testing.assert_close(uneven["views"], batch["view_embeds"], atol=0, rtol=0)
        assert torch.equal(uneven["labels"], batch["labels"])
        torch.testing.assert_close(uneven["grad"], WORLD_SIZE * uneven["weights"][UNEVEN_ROWS[rank]], atol=0, rtol=0)

        # (b) batch-level terms are the single-process value over the global batch; cross-entropy is local.
        for name in ("contrastive", "triplet", "infonce"):
            torch.testing.assert_close(result["terms"][name], global_terms[name], **TOL)
        local_ce = F.cross_entropy(batch["class_logits"][rows], batch["labels"][rows])
        torch.testing.assert_close(result["terms"]["cross_entropy"], local_ce, **TOL)

        # (c) Each rank computes the whole global loss, and the backward of the autograd all_gather SUMS
        # the gradients of all ranks into each local slice, so a rank's gradient for its own rows is
        # WORLD_SIZE x the single-process gradient. Cross-entropy agrees: its local mean divides by
        # B / WORLD_SIZE instead of B. Replicated parameters get exactly the single-process gradient.
        # DDP averages parameter gradients over ranks, dividing by WORLD_SIZE, which yields exactly
        # the single-process gradient of the global loss.
        for name in FLOAT_INPUTS:
            torch.testing.assert_close(result["grads"][name], WORLD_SIZE * global_grads[name][rows], **TOL)
        for name in REPLICATED:
            torch.testing.assert_close(result["grads"][name], global_grads[name], **TOL)

    ce_over_ranks = sum(result["terms"]["cross_entropy"] for result in results) / WORLD_SIZE
    torch.testing.assert_close(ce_over_ranks, global_terms["cross_entropy"], **TOL)
    for name in FLOAT_INPUTS:  # what DDP's averaging sees, reassembled over all rows
        averaged = torch.cat([result["grads"][name] for result in results]) / WORLD_SIZE
        torch.testing.assert_close(averaged, global_grads[name], **TOL)


if __name__ == "__main__":
    torch.multiprocessing.spawn(_worker, args=(sys.argv[1], int(sys.argv[2])), nprocs=WORLD_SIZE)
