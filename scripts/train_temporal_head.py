"""Train a 3D model's temporal head on 4D sequences and compare it, fold by fold and seed by seed, with the
frame-level ways of reading a sequence (mean pooling, majority vote, the best single frame).

    python scripts/train_temporal_head.py --model affectvlm/assets/default_model --data-dir data/captured-bu4dfe \\
        --out outputs/temporal --install runs/default-temporal

The tower stays frozen (see affectvlm.evaluation.temporal_head): the frames are embedded once (cached in
--out), then for every seed and subject-independent fold a head is trained on the other folds' sequences and
scored on the fold's, whole and cut to the first half. Nothing is tuned on the test folds: the head's
settings are fixed before the run. Writes temporal_results.json and temporal_results.png; --install saves the
model with a head trained on every sequence (seed 0), with the 3D model's training summary, ready for
scripts/install_default_model.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch

from affectvlm.arguments import comma_list
from affectvlm.bundled import DEFAULT_MODEL, load_pretrained
from affectvlm.data.cache import CacheBuild
from affectvlm.data.loading import scan_dataset
from affectvlm.data.protocols import get_protocol
from affectvlm.data.registry import get_layout
from affectvlm.evaluation.plots import plot_method_bars
from affectvlm.evaluation.temporal_head import (
    METHODS, EmbeddedSequence, HeadTraining, count_hits, embed_sequences, fit_temporal_head, summarise,
    with_temporal_head,
)
from affectvlm.hub.export import TRAINING_SUMMARY
from affectvlm.training.config import DEFAULT_CACHE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="the 3D model (default: the bundled one)")
    parser.add_argument("--data-dir", required=True, help="4D dataset folder (e.g. written by make_synthetic.py)")
    parser.add_argument("--layout", default="bu4dfe", help="its layout (default: bu4dfe)")
    parser.add_argument("--folds", type=int, default=5, help="subject-independent folds (default: 5)")
    parser.add_argument("--seeds", type=comma_list(int), default=[0, 1, 2], help="comma-separated seeds of the head (default: 0,1,2)")
    parser.add_argument("--num-frames", type=int, default=16, help="frames sampled per sequence (default: 16)")
    parser.add_argument("--steps", type=int, default=400, help="head training steps (default: 400)")
    parser.add_argument("--head", choices=("transformer", "attention"), default="transformer",
                        help="the head: a temporal transformer that reads the frames in order, or a learned "
                             "score per frame (attention) (default: transformer)")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE),
                        help=f"where the rendered frames are cached (default: {DEFAULT_CACHE})")
    parser.add_argument("--render-workers", type=int, help="processes rendering the frames (default: all cores)")
    parser.add_argument("--out", default="outputs/temporal", help="results folder (default: outputs/temporal)")
    parser.add_argument("--install", help="save the model with a head trained on every sequence here")
    return parser.parse_args(argv)


def embedded_dataset(args: argparse.Namespace, model, processor, samples) -> list[EmbeddedSequence]:
    """The frame embeddings, from the cache in --out when it was made by the same frame encoder (the weights a
    3D face goes through, and the processor's settings) from the same sequences; a model retrained in the same
    folder embeds again."""
    cache = Path(args.out) / "frame_embeddings.pt"
    identity = {"encoder": frame_encoder_fingerprint(model, processor), "keys": [sample.key for sample in samples]}
    if cache.is_file():
        stored = torch.load(cache, weights_only=False)
        if stored["identity"] == identity:
            return stored["sequences"]
    build = CacheBuild(args.cache_dir, args.layout, args.render_workers)
    sequences = embed_sequences(model, processor, samples, model.config.label2id, build)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"identity": identity, "sequences": sequences}, cache)
    return sequences


def frame_encoder_fingerprint(model, processor) -> str:
    """sha256 of every weight except the frame pooling's (which frame embeddings never pass through) and of the
    processor's settings."""
    digest = hashlib.sha256(processor.to_json_string().encode())
    for name, tensor in sorted(model.state_dict().items()):
        if not name.startswith("temporal_pooling."):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def frame_counts(sequences: list[EmbeddedSequence]) -> dict[str, float]:
    counts = sorted(len(sequence.frames) for sequence in sequences)
    return {"min": counts[0], "median": counts[len(counts) // 2], "max": counts[-1]}


def cross_validated(model, sequences, groups, settings: HeadTraining, class_embeds, classes) -> dict:
    """One seed: accuracy of every method over all test folds together."""
    totals = {part: {method: 0 for method in METHODS} for part in ("whole", "first half")}
    for test_subjects in groups:
        train = [sequence for sequence in sequences if sequence.subject not in test_subjects]
        test = [sequence for sequence in sequences if sequence.subject in test_subjects]
        head = fit_temporal_head(model, train, settings, class_embeds)
        for part, hits in count_hits(model, head, test, settings.num_frames, class_embeds, classes).items():
            for method, count in hits.items():
                totals[part][method] += count
    return {part: {method: count / len(sequences) for method, count in hits.items()} for part, hits in totals.items()}


def head_settings(args: argparse.Namespace, seed: int = 0) -> HeadTraining:
    return HeadTraining(pooling=args.head, num_frames=args.num_frames, steps=args.steps, seed=seed)


def compare_per_seed(args: argparse.Namespace, model, sequences, groups, class_embeds, classes) -> list[dict]:
    """Every seed's cross-validated accuracy of every method, printed as it comes."""
    per_seed = []
    for seed in args.seeds:
        per_seed.append(cross_validated(model, sequences, groups, head_settings(args, seed), class_embeds, classes))
        print(f"seed {seed}: " + ", ".join(f"{method} {accuracy:.3f}"
                                           for method, accuracy in per_seed[-1]["whole"].items()), flush=True)
    return per_seed


def write_results(args: argparse.Namespace, results: dict) -> None:
    """temporal_results.json and the bar plot in --out, and the summary on the terminal."""
    out = Path(args.out)
    (out / "temporal_results.json").write_text(json.dumps(results, indent=2) + "\n")
    summary = results["summary"]
    plot_method_bars(summary, out / "temporal_results.png", title=f"{results['num_sequences']} test sequences, "
                     f"{args.folds} folds, {len(results['per_seed'])} seeds, {args.head} head")
    for part, methods in summary.items():
        print(f"{part}: " + ", ".join(f"{m} {s['mean']:.3f} +- {s['std']:.3f}" for m, s in methods.items()))


def install_head(args: argparse.Namespace, model, processor, sequences, class_embeds) -> None:
    """The model with a head trained on every sequence (seed 0), and the 3D model's training summary."""
    head = fit_temporal_head(model, sequences, head_settings(args), class_embeds)
    with_temporal_head(model, head, args.head).save_pretrained(args.install)
    processor.save_pretrained(args.install)
    summary = Path(args.model) / TRAINING_SUMMARY  # the 3D training the head sits on, for the card
    if summary.is_file():
        shutil.copy2(summary, Path(args.install) / TRAINING_SUMMARY)
    print(f"model with its temporal head saved to {args.install}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model, processor = load_pretrained(args.model)
    labels = get_layout(args.layout).emotions
    protocol = get_protocol(args.layout, folds=args.folds, labels=tuple(labels), validation_folds=0)
    samples = protocol.select(scan_dataset(args.data_dir, args.layout))
    sequences = embedded_dataset(args, model, processor, samples)
    with torch.no_grad():
        class_embeds = model.get_class_embeddings()
    classes = [model.config.label2id[label] for label in labels]
    groups = [set(group) for group in protocol.fold_subjects(samples)]
    per_seed = compare_per_seed(args, model, sequences, groups, class_embeds, classes)
    write_results(args, {
        "model": args.model, "data_dir": args.data_dir, "layout": args.layout, "labels": list(labels),
        "folds": args.folds, "num_sequences": len(sequences), "num_subjects": len(protocol.participants(samples)),
        "frames_per_sequence": frame_counts(sequences), "head": args.head, "num_frames": args.num_frames,
        "steps": args.steps, "command": " ".join(["python", *sys.argv]), "per_seed": per_seed,
        "summary": summarise(per_seed)})
    if args.install:
        install_head(args, model, processor, sequences, class_embeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
