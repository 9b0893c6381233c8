"""Make a trained checkpoint the bundled default model (affectvlm/assets/default_model).

    python scripts/install_default_model.py runs/default-conv96b/best

Loads it with this package and saves it again, so that the folder's remote code (the pipeline's too) and
processor files are those of the package as it is now (no `custom_pipelines` entry: inside the package the
task is registered already; the export adds it); keeps the training summary. Regenerate the card afterwards
(hub_card/default_model/README.md says how).
"""

import argparse
import shutil
import sys
from pathlib import Path

from transformers import AutoModel, AutoProcessor
from transformers.dynamic_module_utils import custom_object_save

import affectvlm
from affectvlm.model.pipeline_affectvlm import AffectVLMPipeline

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
    custom_object_save(AffectVLMPipeline, staging)
    for name in KEPT:
        if (args.checkpoint / name).is_file():
            shutil.copy2(args.checkpoint / name, staging / name)
    shutil.rmtree(TARGET)
    staging.rename(TARGET)
    print(f"installed {args.checkpoint} as {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
