"""Write a synthetic dataset in the file formats and folder layout of a real one (BU-3DFE, BU-4DFE, Bosphorus,
BP4D-Spontaneous, BP4D+, or a generic folder with a manifest), to exercise readers, protocols and training.

    python scripts/make_synthetic.py --layout bu3dfe --out data/synthetic-bu3dfe --subjects 10
    python scripts/make_synthetic.py --layout bu4dfe --out data/synthetic-bu4dfe --subjects 4 --frames 50
    python scripts/make_synthetic.py --layout bu4dfe --out data/captured --subjects 20 --frames 100 --dynamics captured

The output folder must be empty or new. With --overwrite, a folder filled by an earlier run may be written
again: the files that run recorded (in .affectvlm_synthetic.json) are replaced, any other file is left alone
and refused if it is in the way, and nothing is ever deleted.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tqdm.auto import tqdm

from affectvlm.arguments import comma_list
from affectvlm.data.emotions import EMOTIONS_WITH_NEUTRAL
from affectvlm.data.registry import get_layout
from affectvlm.synthetic import (
    CAPTURED_DYNAMICS, DEFAULT_VARIATION, MIXED_SCAN_VARIATION, NO_VARIATION, PARTIAL_SCAN_VARIATION, RECIPE_SPLITS,
    SCAN_VARIATION, SEQUENCE_SUBJECT_SEED_OFFSET, DatasetRequest, SyntheticRequest, write_synthetic_dataset,
)
from affectvlm.synthetic.writers import WRITERS

VARIATIONS = {"on": DEFAULT_VARIATION, "off": NO_VARIATION, "scan": SCAN_VARIATION, "scan-mixed": MIXED_SCAN_VARIATION,
              "scan-partial": PARTIAL_SCAN_VARIATION}
DYNAMICS = {"posed": None, "captured": CAPTURED_DYNAMICS}


def _names(text: str) -> list[str]:
    names = comma_list()(text)
    unknown = [name for name in names if name not in EMOTIONS_WITH_NEUTRAL]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown emotion(s) {unknown}; choose from {', '.join(EMOTIONS_WITH_NEUTRAL)}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    layouts = "; ".join(f"{name}: {get_layout(name).description}" for name in WRITERS)
    parser.add_argument("--layout", required=True, choices=sorted(WRITERS), help=f"dataset layout ({layouts})")
    parser.add_argument("--out", required=True, type=Path, help="output folder (empty or new)")
    parser.add_argument("--subjects", type=int, default=2, help="number of subjects (default: 2)")
    parser.add_argument("--subject-seed-offset", type=int, default=None,
                        help="identity seed of the first subject; the others follow (default: 0, and "
                             f"{SEQUENCE_SUBJECT_SEED_OFFSET} for 4D layouts, so their subjects are no 3D set's)")
    parser.add_argument("--emotions", type=_names, default=None,
                        help="comma-separated emotions (default: all the layout holds)")
    parser.add_argument("--intensities", type=comma_list(int), default=[1, 2, 3, 4],
                        help="comma-separated intensities 1..4, for layouts that name them (default: 1,2,3,4)")
    parser.add_argument("--frames", type=int, default=25, help="frames per 4D sequence, at least 5 (default: 25)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of 4D sequences (default: 25)")
    parser.add_argument("--dynamics", choices=sorted(DYNAMICS), default="posed",
                        help="4D: 'posed' sequences of fixed timing (neutral, onset, apex, offset, neutral) or "
                             "'captured' ones: random onset, speed, apex length and level, clips that start or end "
                             "mid-expression, blinks, talking and head turns, 25 to --frames frames (default: posed)")
    parser.add_argument("--variation", choices=sorted(VARIATIONS), default="on",
                        help="per-face variation: jitter, asymmetry, pose, scan noise, crops; 'scan' adds face-region "
                             "crops with rough borders, holes and more pose; 'scan-mixed' also blends two recipes of an "
                             "emotion in half the faces; 'scan-partial' also shows a third of the recipes on the upper "
                             "or lower half of the face only (default: on)")
    parser.add_argument("--recipes", choices=RECIPE_SPLITS, default=None,
                        help="folder layout: draw each face from a random expression recipe of this split at a random "
                             "level, instead of each emotion's prototype per intensity (default: prototypes)")
    parser.add_argument("--faces-per-emotion", type=int, default=1,
                        help="with --recipes: faces per subject and emotion (default: 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-face variation (default: 0)")
    parser.add_argument("--texture-size", type=int, default=256,
                        help="texture images in pixels; 0 in the folder layout writes untextured binary PLY (default: 256)")
    parser.add_argument("--workers", type=int, default=1, help="processes writing subjects (default: 1)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into a folder an earlier run filled (its own files only; nothing is deleted)")
    args = parser.parse_args(argv)
    if args.subjects < 1:
        parser.error("--subjects must be at least 1")
    return args


def request_of(args: argparse.Namespace) -> DatasetRequest:
    """The dataset the command line asks for, recording the command itself with the files."""
    faces = SyntheticRequest(
        emotions=args.emotions, intensities=args.intensities, frames=args.frames, fps=args.fps,
        dynamics=DYNAMICS[args.dynamics],
        variation=VARIATIONS[args.variation], sample_seed=args.seed, texture_size=args.texture_size,
        recipes=args.recipes, faces_per_emotion=args.faces_per_emotion,
    )
    return DatasetRequest(args.out, args.layout, args.subjects, faces, subject_seed_offset=args.subject_seed_offset,
                          workers=args.workers, overwrite=args.overwrite, command=shlex.join(["python", *sys.argv]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tqdm(total=args.subjects, desc=f"writing {args.layout}", unit="subject") as bar:
        try:
            samples = write_synthetic_dataset(request_of(args), on_subject_done=lambda subject: bar.update(1))
        except (ValueError, OSError, RuntimeError) as err:
            bar.close()
            print(f"error: {err}", file=sys.stderr)
            return 2
    print(f"wrote {len(samples)} samples of {args.subjects} subjects to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
