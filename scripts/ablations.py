"""Run the ablation variants of one training recipe; write a table (markdown + JSON) and a convergence plot.

    python scripts/ablations.py --data-dir data/synthetic_bu3dfe --max-steps 300 --target-accuracy 0.6 \\
        --seeds 0,1,2 --out outputs/ablations

Every option of scripts/train.py sets the shared recipe; --variants picks some of the variants below
(separated by ";"; default: all), each changing one thing from the recipe.
"""

import logging
from pathlib import Path

from affectvlm.arguments import comma_list
from affectvlm.training.ablations import VARIANTS, run_ablations
from affectvlm.training.config import build_parser, config_from_namespace


def main() -> None:
    parser = build_parser(__doc__ + "\nvariants:\n" + "\n".join(f"  {name}" for name in VARIANTS))
    parser.add_argument("--out", default="outputs/ablations", help="folder for the runs, table and plot")
    parser.add_argument("--variants", type=lambda text: [n.strip() for n in text.split(";") if n.strip()],
                        help="variants to run, separated by ';' (default: all)")
    parser.add_argument("--seeds", type=comma_list(int), default=[0],
                        help="comma-separated seeds: every variant is trained once per seed, reported as "
                             "mean +- std (default: 0)")
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    run_ablations(config_from_namespace(args), args.out, args.variants, args.seeds)
    print((Path(args.out) / "ablations.md").read_text())


if __name__ == "__main__":
    main()
