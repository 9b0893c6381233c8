"""Evaluate AffectVLM models on the test subjects of a protocol's folds; write one results JSON and plots.

    python scripts/evaluate.py --model runs/fold{fold}/best --data-dir data/bu3dfe --layout bu3dfe \\
        --folds 0-9 --out outputs/eval/bu3dfe
    python scripts/evaluate.py --model openai-clip-as-affectvlm --class-prompts prompts.json ...   # zero-shot

"{fold}" in --model stands for the fold number, so each fold is scored by the model trained without it.
Writes results.json (per-fold and mean +- std accuracy, macro-F1, per-class precision/recall, confusion
matrices; the model card reads it) and confusion-matrix PNGs into --out.
"""

import argparse
import json
import logging
import shlex
import sys

from affectvlm.arguments import comma_list
from affectvlm.data.loading import UNREADABLE_INPUT
from affectvlm.evaluation.evaluate import PARTS, EvaluationSettings, FoldFaces, evaluate_folds, load_class_prompts
from affectvlm.training.config import DEFAULT_CACHE


def fold_list(text: str) -> list[int]:
    """"0-9", "0,3,5" or "2" -> fold numbers."""
    folds = []
    for part in text.split(","):
        start, _, end = part.partition("-")
        try:
            folds += list(range(int(start), int(end) + 1)) if end else [int(start)]
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad fold list {text!r}: use e.g. 0-9 or 0,3,5") from None
    return folds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder or Hub id; may contain {fold}")
    parser.add_argument("--data-dir", required=True, help="dataset folder in its shipped layout")
    parser.add_argument("--layout", default="bu3dfe", help="bu3dfe, bu4dfe, bosphorus, bp4d, bp4d+ or folder (default: bu3dfe)")
    parser.add_argument("--protocol", help="protocol name (default: the layout's own)")
    parser.add_argument("--folds", type=fold_list, default=[0], help="folds to score, e.g. 0-9 (default: 0)")
    parser.add_argument("--num-folds", type=int, help="override the protocol's number of folds")
    parser.add_argument("--num-subjects", type=int, help="override the protocol's number of subjects")
    parser.add_argument("--labels", type=comma_list(), help="comma-separated classes whose faces are scored (default: the protocol's own, "
                                         "e.g. the six basic emotions; add neutral for a 7-class model)")
    parser.add_argument("--part", choices=PARTS, default="test",
                        help="score each fold's test faces, or the validation faces its run chose the best model on")
    parser.add_argument("--num-frames", type=int, default=8, help="4D: frames scored per sequence (default: 8)")
    parser.add_argument("--class-prompts", help="zero-shot: JSON file {label: [prompt, ...]} to score against")
    parser.add_argument("--synthetic", action="store_true", default=None,
                        help="mark the data as synthetic in the results (detected for data from make_synthetic.py)")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help=f"rendered-view cache (default: {DEFAULT_CACHE})")
    parser.add_argument("--batch-size", type=int, default=64, help="faces per forward pass (default: 64)")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise", help="a bad file: stop or skip")
    parser.add_argument("--out", default="outputs/eval", help="folder for results.json and plots (default: outputs/eval)")
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)

    overrides = {key: value for key, value in (("folds", args.num_folds), ("num_subjects", args.num_subjects)) if value}
    if args.labels:
        overrides["labels"] = tuple(args.labels)
    faces = FoldFaces(data_dir=args.data_dir, layout=args.layout, protocol=args.protocol, protocol_overrides=overrides,
                      cache_dir=args.cache_dir, on_error=args.on_error, part=args.part, num_frames=args.num_frames)
    settings = EvaluationSettings(
        class_prompts=load_class_prompts(args.class_prompts) if args.class_prompts else None,
        batch_size=args.batch_size, output_dir=args.out, synthetic=args.synthetic,
        command=shlex.join(["python", *sys.argv]),
    )
    try:
        results = evaluate_folds(args.model, args.folds, faces, settings)
    except UNREADABLE_INPUT as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = results["summary"]
    print(json.dumps({"accuracy": summary["accuracy"], "macro_f1": summary["macro_f1"], "folds": summary["num_folds"],
                      **({"sequence": results["sequence"]} if "sequence" in results else {}),
                      "results": f"{args.out}/results.json"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
