"""Train AffectVLM on a 3D face dataset with one subject-independent fold held out.

    accelerate launch scripts/train.py --data-dir data/bu3dfe --layout bu3dfe --fold 0 --output-dir runs/f0
    accelerate launch --multi_gpu --num_processes 2 scripts/train.py --config recipe.yaml   # (CPU: add --cpu)

Running the same command again resumes from the run folder's latest checkpoint. The logic lives in
`affectvlm.training`; this file only parses the command line.
"""

import json
import logging
import sys

from affectvlm.data.loading import UNREADABLE_INPUT
from affectvlm.training.config import config_from_args
from affectvlm.training.trainer import train


def main() -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    # one line per saved file, per GL call, per CUDA module loaded
    for chatty in ("accelerate.accelerator", "accelerate.checkpointing", "OpenGL", "numba.cuda.cudadrv.driver"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        summary = train(config_from_args(description=__doc__))
    except UNREADABLE_INPUT as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if "test" in summary:
        print(json.dumps({key: summary[key] for key in ("steps", "wall_time_s", "best_step", "test")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
