"""Publish an AffectVLM model folder to the Hugging Face Hub, with its model card and, optionally, the Space.

    # build the export, prove it loads without the package, stop (nothing uploaded)
    python scripts/push_to_hub.py --model outputs/bu3dfe --repo-id me/affectvlm-bu3dfe \\
        --results outputs/eval/bu3dfe.json --dry-run --out outputs/hub/bu3dfe

    # the same, then upload (token from --token, HF_TOKEN or `hf auth login`), and the Space pointed at it
    # (free CPU hardware unless --space-hardware names another flavor, e.g. zero-a10g or t4-small)
    python scripts/push_to_hub.py --model outputs/bu3dfe --repo-id me/affectvlm-bu3dfe \\
        --results outputs/eval/bu3dfe.json --space-out outputs/hub/space --space-repo-id me/affectvlm-demo

    # only (re)write the card of a model folder in place: how the bundled model's README.md is made
    python scripts/push_to_hub.py --model affectvlm/assets/default_model --card-only ...

The export holds safetensors weights, config, processor files, the modelling and pipeline code (remote code),
README.md, training_summary.json and the results JSONs. Before anything is uploaded, a fresh Python process in
which `affectvlm` cannot be imported loads it with trust_remote_code=True, renders the example face and must
reproduce the in-memory model's rendering, logits, face embedding and pipeline scores; any difference stops it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from huggingface_hub import get_token, metadata_load

from affectvlm.hub import (
    EXAMPLE_FACE,
    EXPORT_MARKER,
    SPACE_HARDWARE,
    SPACE_MARKER,
    CardInputs,
    ExportCheckError,
    OutputFolderError,
    HubRepo,
    RecordError,
    build_model_card,
    export_and_check,
    load_results,
    load_training_summary,
    prepare_space,
    upload_folder_to_hub,
)
from affectvlm.hub.export import TRAINING_SUMMARY

logger = logging.getLogger("push_to_hub")
REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="saved AffectVLM model folder")
    parser.add_argument("--repo-id", help="Hub model repo, e.g. me/affectvlm-bu3dfe (required unless --card-only)")
    parser.add_argument("--name", help="card title and model-index name (default: the repo name)")
    parser.add_argument("--results", nargs="+", action="extend", default=[], type=Path, metavar="JSON",
                        help="evaluation results JSON(s) from scripts/evaluate.py: one model-index entry and "
                             "one set of tables each")
    parser.add_argument("--heldout-results", type=Path, metavar="JSON",
                        help="heldout_results.json from scripts/evaluate_heldout.py: the card's held-out section")
    parser.add_argument("--temporal-results", type=Path, metavar="JSON",
                        help="temporal_results.json from scripts/train_temporal_head.py: the card's 4D section")
    parser.add_argument("--training-summary", type=Path, metavar="JSON",
                        help=f"training summary (default: MODEL/{TRAINING_SUMMARY} when present)")
    parser.add_argument("--out", type=Path, help="export folder (default: a temporary folder); "
                                                 "a non-empty folder is replaced only if it is a previous export")
    parser.add_argument("--dry-run", action="store_true", help="export and check, upload nothing (needs --out)")
    parser.add_argument("--card-only", action="store_true",
                        help="only write MODEL/README.md (no export, no check, no upload)")
    parser.add_argument("--private", action="store_true", help="create new repos as private")
    parser.add_argument("--token", help="Hub token with write access (default: HF_TOKEN or the stored login)")
    parser.add_argument("--mesh", type=Path, default=EXAMPLE_FACE, help="face mesh for the clean-process check")
    parser.add_argument("--space-dir", type=Path, default=REPO_ROOT / "space", help="the Space app folder to copy")
    parser.add_argument("--space-out", type=Path,
                        help="also prepare the Space upload folder here, pointed at --repo-id")
    parser.add_argument("--space-repo-id", help="upload the prepared Space to this Space repo (needs --space-out)")
    parser.add_argument("--space-hardware", default="cpu-basic", choices=SPACE_HARDWARE, metavar="FLAVOR",
                        help="the Space's hardware: its torch build (CPU flavors: the CPU wheel; GPU flavors and "
                             "zero-a10g: CUDA) and README suggested_hardware (default: cpu-basic, the free one)")
    parser.add_argument("--card-dir", type=Path, help="template + metadata folder (default: the checkout's hub_card/)")
    args = parser.parse_args(argv)
    if not args.card_only and not args.repo_id:
        parser.error("--repo-id is required (unless --card-only)")
    if args.card_only and (args.out or args.dry_run or args.space_out):
        parser.error("--card-only writes MODEL/README.md only: drop --out, --dry-run and --space-out")
    if args.dry_run and not args.out:
        parser.error("--dry-run needs --out: the folder to leave the checked export in")
    if args.space_repo_id and not args.space_out:
        parser.error("--space-repo-id needs --space-out")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    token = args.token or get_token()
    if not (args.card_only or args.dry_run) and token is None:
        raise SystemExit("push_to_hub: no Hub token: pass --token, set HF_TOKEN or run `hf auth login`; "
                         "or use --dry-run")
    try:
        results = [load_results(path) for path in args.results]
        summary_path = args.training_summary or args.model / TRAINING_SUMMARY
        if args.training_summary or summary_path.is_file():
            training_summary = load_training_summary(summary_path)
        else:
            logger.info("no %s: the card's training section will say 'not recorded'", summary_path)
            training_summary = None

        if args.card_only:
            heldout = json.loads(args.heldout_results.read_text()) if args.heldout_results else None
            temporal = json.loads(args.temporal_results.read_text()) if args.temporal_results else None
            inputs = CardInputs(args.repo_id or str(args.model), args.name, results, training_summary, heldout,
                                args.card_dir, temporal)
            build_model_card(args.model, inputs).save(args.model / "README.md")
            logger.info("wrote %s", args.model / "README.md")
            return 0

        out = args.out or Path(tempfile.mkdtemp(prefix="affectvlm-export-"))
        inputs = CardInputs(args.repo_id, args.name, results, training_summary, card_dir=args.card_dir)
        folder, _ = export_and_check(args.model, out, inputs, mesh=args.mesh)
        if args.dry_run:
            logger.info("dry run: the checked export is in %s; nothing uploaded", folder)
        else:
            upload_folder_to_hub(folder, HubRepo(args.repo_id, private=args.private), token=token,
                                 ignore_patterns=[EXPORT_MARKER], commit_message="Upload AffectVLM model")

        if args.space_out:
            space = prepare_space(args.space_dir, args.space_out, args.repo_id, hardware=args.space_hardware)
            logger.info("Space folder ready in %s (models: [%s], hardware %s)", space, args.repo_id,
                        args.space_hardware)
            if args.space_repo_id and not args.dry_run:
                sdk = (metadata_load(space / "README.md") or {}).get("sdk")
                upload_folder_to_hub(space, HubRepo(args.space_repo_id, "space", args.private, sdk), token=token,
                                     ignore_patterns=[SPACE_MARKER], commit_message="Upload AffectVLM Space")
    except (ExportCheckError, OutputFolderError, RecordError, FileNotFoundError, ValueError) as error:
        logger.error("push_to_hub: error: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
