"""Make a trained checkpoint the bundled default model (affectvlm/assets/default_model).

    python scripts/install_default_model.py runs/default-conv96b/best

Loads it with this package and saves it again, so that its config and processor files are those of the
package as it is now, then drops the remote-code `.py` files `save_pretrained` writes: inside the package the
package's own classes load it (and the pipeline task is registered), so a committed copy of the model code
could only go stale. `scripts/push_to_hub.py` writes the remote code (the pipeline's too) where the model
leaves the package. Keeps the training summary. Regenerate the card afterwards (hub_card/default_model/README.md).
"""

import argparse
import shutil
import sys
from pathlib import Path

from transformers import AutoModel, AutoProcessor

import affectvlm

TARGET = Path(affectvlm.__file__).parent / "assets" / "default_model"
KEPT = ("training_summary.json",)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="a saved AffectVLM model folder (e.g. a run's best/)")
    args = parser.parse_args()
    model = AutoModel.from_pretrained(args.checkpoint).eval()
    processor = AutoProcessor.from_pretrained(args.checkpoint)
    staging = TARGET.with_name(".default_model-staging")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    processor.save_pretrained(staging)
    for code in staging.glob("*.py"):
        code.unlink()
    for name in KEPT:
        if (args.checkpoint / name).is_file():
            shutil.copy2(args.checkpoint / name, staging / name)
    shutil.rmtree(TARGET)
    staging.rename(TARGET)
    print(f"installed {args.checkpoint} as {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
