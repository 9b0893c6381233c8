"""TrainConfig: every setting of a training run, from the command line and/or a YAML/JSON file.

A file gives defaults; command-line options override it, so a shared recipe can be varied per run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..arguments import comma_list
from ..model.losses_affectvlm import LOSS_TERMS
from ..model.sequences_affectvlm import FRAME_SAMPLINGS

DEFAULT_CACHE = Path.home() / ".cache" / "affectvlm" / "rendered"


@dataclass
class TrainConfig:
    """A training run. Paths are plain strings so that the config round-trips through JSON."""

    # data
    data_dir: str = ""
    layout: str = "bu3dfe"
    protocol: str | None = None  # default: the layout's own protocol
    fold: int = 0
    folds: int | None = None
    num_subjects: int | None = None
    labels: list[str] | None = None
    cache_dir: str = str(DEFAULT_CACHE)
    on_error: str = "raise"
    render_workers: int | None = None
    # model
    model_preset: str | None = "small"
    checkpoint: str | None = None
    clip: str | None = None
    num_views: int = 3
    render_mode: str | None = None  # default: the preset's (or checkpoint's)
    image_size: int | None = None  # rendered view size; default: the preset's
    view_fusion: str = "mean"
    temporal_pooling: str = "mean"
    num_frames: int = 8
    frame_sampling: str = "uniform"
    loss_weights: dict[str, float] = field(default_factory=lambda: {"contrastive": 1.0, "triplet": 1.0, "infonce": 1.0})
    # augmentation
    augment_prompts: bool = True
    view_augmentation: bool = True
    view_dropout: float = 0.0
    view_shuffle: bool = False
    render_on_the_fly: bool = False
    camera_jitter: list[float] = field(default_factory=lambda: [10.0, 5.0, 5.0])  # yaw, pitch, roll bounds
    # optimisation
    epochs: float = 10.0
    max_steps: int | None = None
    batch_size: int = 32  # per process
    learning_rate: float = 5e-4
    weight_decay: float = 0.05
    warmup_steps: int = 150
    lr_schedule: str = "cosine"
    max_grad_norm: float = 1.0
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    seed: int = 0
    # bookkeeping
    output_dir: str = "runs/affectvlm"
    eval_every: int = 0  # optimizer steps between evaluations; 0: once per epoch
    checkpoint_every: int = 0  # optimizer steps between saved states; 0: once per epoch
    keep_checkpoints: int = 2
    log_every: int = 10
    report_to: list[str] = field(default_factory=list)
    target_accuracy: float | None = None
    stop_after_steps: int | None = None  # stop as if interrupted (e.g. a job's time limit); resume later
    dataloader_workers: int = 0
    cpu: bool = False
    deterministic: bool = True

    def __post_init__(self) -> None:
        if self.frame_sampling not in FRAME_SAMPLINGS:
            raise ValueError(f"frame_sampling must be one of {FRAME_SAMPLINGS}, got {self.frame_sampling!r}")
        unknown = sorted(set(self.loss_weights) - set(LOSS_TERMS))
        if unknown:
            raise ValueError(f"unknown loss terms {unknown}; terms are {list(LOSS_TERMS)}")
        if not any(weight > 0 for weight in self.loss_weights.values()):
            raise ValueError("at least one loss term needs a positive weight")
        if self.lr_schedule not in ("cosine", "linear", "constant"):
            raise ValueError(f"lr_schedule must be cosine, linear or constant, got {self.lr_schedule!r}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be no, fp16 or bf16, got {self.mixed_precision!r}")
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be raise or skip, got {self.on_error!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2: the pair losses need pairs")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_loss_weights(text: str) -> dict[str, float]:
    """"contrastive=1,triplet=1" or "contrastive,triplet" (weight 1) -> {term: weight}."""
    weights = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value) if value else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad loss weight {part!r}: expected term=number") from None
    unknown = sorted(set(weights) - set(LOSS_TERMS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown loss terms {unknown}; terms are {', '.join(LOSS_TERMS)}")
    return weights


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected on/off, got {text!r}")


_HELP = {
    "data_dir": "dataset folder, exactly as the dataset ships it (or written by scripts/make_synthetic.py)",
    "layout": "dataset layout: bu3dfe, bu4dfe, bosphorus, bp4d, bp4d+ or folder (a manifest)",
    "protocol": "evaluation protocol (default: the layout's own, e.g. bu3dfe: 60 subjects, intensities 3-4, 10 folds)",
    "fold": "which fold is the test set",
    "folds": "override the protocol's number of folds",
    "num_subjects": "override how many subjects take part (default: the protocol's)",
    "labels": "comma-separated classes (default: the six basic emotions)",
    "cache_dir": "where rendered views are cached (reused across runs; rebuilt when anything changes)",
    "on_error": "a corrupt or missing file: raise (stop) or skip (counted, with a warning)",
    "render_workers": "processes rendering the cache (default: all cores)",
    "model_preset": "start from random weights of this preset: tiny, small or base (ViT-B/32 shapes) ViTs, or conv "
                    "(a ResNet tower on face-centric normal maps) or conv-tiny",
    "checkpoint": "start from a saved AffectVLM model folder instead",
    "clip": "start both towers from a transformers CLIPModel folder or Hub id instead",
    "num_views": "rendered views per face: 1 (frontal) to 3 (frontal, left, right)",
    "render_mode": "how views are rendered: shaded, depth, normals or texture (default: the preset's)",
    "image_size": "rendered view size in pixels (default: the preset's)",
    "view_fusion": "mean or attention",
    "temporal_pooling": "4D: how frames become one sequence embedding: mean, attention or transformer (reads the frames in order)",
    "num_frames": "4D: frames per sequence, spread evenly (jittered in training)",
    "frame_sampling": "4D: uniform (over the whole sequence) or apex (over the half around the frame that moved most)",
    "loss_weights": "loss terms and weights, e.g. contrastive=1,triplet=1,infonce=1 (terms: " + ", ".join(LOSS_TERMS) + ")",
    "augment_prompts": "on: varied prompts with synonyms and metadata; off: one fixed prompt per class",
    "view_augmentation": "mixed view augmentation: flips, rotations, crops, scales drawn per view",
    "view_dropout": "chance that a view is replaced by another view of the same face",
    "view_shuffle": "permute the views of each face",
    "render_on_the_fly": "render training faces in the loop, each view from a jittered camera (3D data only)",
    "camera_jitter": "on-the-fly rendering: yaw,pitch,roll jitter bounds in degrees (one number: all three)",
    "epochs": "passes over the training split (ignored when max_steps is set)",
    "max_steps": "optimizer steps in total (overrides epochs)",
    "batch_size": "faces per process per step (the losses see the global batch)",
    "learning_rate": "peak AdamW learning rate",
    "weight_decay": "AdamW weight decay",
    "warmup_steps": "linear warm-up steps (InfoNCE collapses a random text tower without it)",
    "lr_schedule": "after warm-up: cosine, linear or constant",
    "max_grad_norm": "gradient clipping norm (0: off)",
    "gradient_accumulation_steps": "micro-batches per optimizer step",
    "mixed_precision": "no, fp16 or bf16 (where the hardware has it)",
    "seed": "seed for weights, data order, augmentation and prompts",
    "output_dir": "run folder: checkpoints, best and final models, logs, plots",
    "eval_every": "optimizer steps between evaluations (0: once per epoch)",
    "checkpoint_every": "optimizer steps between resumable checkpoints (0: once per epoch)",
    "keep_checkpoints": "how many resumable checkpoints to keep",
    "log_every": "optimizer steps between log lines",
    "report_to": "comma-separated trackers for accelerate (tensorboard, wandb, ...)",
    "target_accuracy": "record the first step at which validation accuracy reaches this value",
    "stop_after_steps": "stop after this many steps as if interrupted; run the same command again to resume",
    "dataloader_workers": "DataLoader worker processes per training process",
    "cpu": "train on the CPU even where a GPU is present",
    "deterministic": "on a GPU, deterministic kernels: a resumed run then equals an uninterrupted one bit for bit "
                     "(off: cuDNN's fastest kernels, not reproducible)",
}


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML or JSON file of settings (command-line options override it)")
    defaults = TrainConfig(data_dir="").to_json()
    for item in dataclasses.fields(TrainConfig):
        default = defaults[item.name]
        help_text = _HELP[item.name] + ("" if default in (None, "", []) else f" (default: {_shown(default)})")
        option = "--" + item.name.replace("_", "-")
        kind = {"bool": _bool, "int": int, "float": float, "int | None": int, "float | None": float}.get(str(item.type), str)
        if item.name == "loss_weights":
            kind = parse_loss_weights
        elif item.name in ("labels", "report_to"):
            kind = comma_list()
        elif item.name == "camera_jitter":
            kind = comma_list(float)
        elif item.name == "cpu":
            parser.add_argument(option, action="store_true", default=None, help=_HELP[item.name])
            continue
        parser.add_argument(option, type=kind, default=None, metavar=item.name.upper(), help=help_text)
    return parser


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{key}={weight:g}" for key, weight in value.items())
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def load_config_file(path: str) -> dict[str, Any]:
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    known = {item.name for item in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown settings {unknown}")
    return data


def config_from_namespace(args: argparse.Namespace) -> TrainConfig:
    """Defaults <- the --config file <- command-line options (from a parser made by `build_parser`)."""
    fields = {item.name for item in dataclasses.fields(TrainConfig)}
    settings = load_config_file(args.config) if args.config else {}
    settings.update({key: value for key, value in vars(args).items() if key in fields and value is not None})
    if (settings.get("checkpoint") or settings.get("clip")) and "model_preset" not in settings:
        settings["model_preset"] = None  # the default preset gives way to an explicit starting point
    if not settings.get("data_dir"):
        raise SystemExit("error: --data-dir is required (a dataset folder; make one with scripts/make_synthetic.py)")
    return TrainConfig(**settings)


def config_from_args(argv: list[str] | None = None, description: str = "Train AffectVLM.") -> TrainConfig:
    return config_from_namespace(build_parser(description).parse_args(argv))
