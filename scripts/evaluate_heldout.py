"""Score a model on the hard held-out faces, beside two trivial baselines fitted in the same run.

    python scripts/evaluate_heldout.py --model affectvlm/assets/default_model --train-dir data/train-scan \\
        --val-dir data/val-recipes --heldout-dir data/heldout --out outputs/heldout

The held-out faces (written once into --heldout-dir, then reused) have identities, expression recipes and
crops that no training set uses, poses up to +-15 degrees, noise, millimetres and offsets, in .obj, .ply,
.wrl and .bnt, read back through the real readers. The baselines (logistic regression on 24 px frontal
normal maps; on aligned vertices where the topology allows) are fitted on --train-dir faces, their L2 strength
chosen on --val-dir. Writes heldout_results.json and confusion matrices into --out.
"""

import argparse
import logging
import shlex
import sys

from affectvlm.data.loading import UNREADABLE_INPUT
from affectvlm.evaluation.heldout_eval import BaselineData, HeldoutEvaluation, evaluate_heldout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder")
    parser.add_argument("--train-dir", required=True, help="the model's training data (folder layout), for the baselines")
    parser.add_argument("--val-dir", required=True, help="validation data (folder layout), to choose the baselines' L2")
    parser.add_argument("--heldout-dir", default="data/heldout", help="where the held-out faces are (written if missing)")
    parser.add_argument("--out", default="outputs/heldout", help="results folder (default: outputs/heldout)")
    parser.add_argument("--subjects", type=int, default=40, help="held-out identities when writing them (default: 40)")
    parser.add_argument("--baseline-faces", type=int, default=2100, help="training faces for the baselines (default: 2100)")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes (default: 2)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    baselines = BaselineData(train_dir=args.train_dir, val_dir=args.val_dir, num_faces=args.baseline_faces)
    try:
        report = evaluate_heldout(HeldoutEvaluation(
            model_dir=args.model, heldout_dir=args.heldout_dir, baselines=baselines, out_dir=args.out,
            subjects=args.subjects, workers=args.workers, command=shlex.join(["python", *sys.argv])))
    except UNREADABLE_INPUT as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in [key for key in report if key == "model_scores" or key.startswith("baseline_")]:
        scores = report[name]
        low, high = scores["accuracy_95ci"]
        print(f"{name:20s} accuracy {scores['accuracy']:.3f} (95% CI {low:.3f}-{high:.3f}) on {scores['num_samples']} faces")
        print("    by format: " + ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in scores["by_format"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
