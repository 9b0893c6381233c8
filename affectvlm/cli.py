"""The `affectvlm` command: score face meshes, save their rendered views."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from .model.meshes_affectvlm import MeshFormatError
from .ui.limits import DemoLimits

DEFAULT_MODEL = Path(__file__).parent / "assets" / "default_model"


def _load(model_path: str):
    """Model and processor from a folder or Hub id (registration makes remote code unnecessary)."""
    import affectvlm  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModel, AutoProcessor
    from transformers.utils import logging

    logging.disable_progress_bar()

    if model_path == str(DEFAULT_MODEL) and not DEFAULT_MODEL.is_dir():
        raise SystemExit(f"affectvlm: no default model bundled at {DEFAULT_MODEL}; pass --model PATH_OR_ID")
    model = AutoModel.from_pretrained(model_path).eval()
    processor = AutoProcessor.from_pretrained(model_path)
    return model, processor


def predict(args: argparse.Namespace) -> int:
    import torch

    model, processor = _load(args.model)
    labels = model.config.emotion_labels
    results, failed = [], 0
    for file in args.files:
        try:
            inputs = processor(meshes=file)
        except MeshFormatError as error:
            print(f"affectvlm: error: {error}", file=sys.stderr)
            failed += 1
            continue
        with torch.no_grad():
            probabilities = model(pixel_values=inputs["pixel_values"]).logits.softmax(dim=-1)[0]
        scores = {label: round(float(p), 4) for label, p in zip(labels, probabilities)}
        results.append({"file": file, "label": max(scores, key=scores.get), "scores": scores})
        if not args.json:
            ranked = sorted(scores.items(), key=lambda item: -item[1])
            print(f"{file}: {results[-1]['label']}")
            for label, score in ranked:
                print(f"  {label:<10} {score:6.1%}  {'#' * round(score * 40)}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def render(args: argparse.Namespace) -> int:
    import affectvlm

    if args.model:
        _, processor = _load(args.model)
    else:
        config = affectvlm.AffectVLMConfig(vision_config={"image_size": args.size}, render_mode=args.mode)
        processor = affectvlm.build_processor(config)
    try:
        images = processor.render(args.file)
    except MeshFormatError as error:
        print(f"affectvlm: error: {error}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.file).stem
    for view, image in zip(processor.views, images):
        path = out / f"{stem}_{view['name']}.png"
        image.save(path)
        print(path)
    return 0


def demo(args: argparse.Namespace) -> int:
    from .ui import build_demo, launch_demo

    try:
        limits = DemoLimits(**{limit.name: getattr(args, limit.name) for limit in dataclasses.fields(DemoLimits)})
    except ValueError as error:
        raise SystemExit(f"affectvlm: error: {error}") from None
    model, processor = _load(args.model)
    launch_demo(build_demo(model, processor, limits), limits, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="affectvlm", description="3D facial emotion recognition with AffectVLM.")
    commands = parser.add_subparsers(dest="command", required=True)

    scorer = commands.add_parser("predict", help="score the emotion of face meshes",
                                 description="Render each mesh, encode its views and print emotion probabilities.")
    scorer.add_argument("files", nargs="+", metavar="FILE", help="mesh files (.obj .ply .stl .off .glb .gltf)")
    scorer.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or Hub id (default: bundled)")
    scorer.add_argument("--json", action="store_true", help="print a JSON list of {file, label, scores}")
    scorer.set_defaults(handler=predict)

    renderer = commands.add_parser("render", help="save the rendered views of a mesh as PNG",
                                   description="Render a mesh into the model's views and save each as a PNG.")
    renderer.add_argument("file", metavar="FILE", help="a mesh file")
    renderer.add_argument("--out", required=True, help="folder for the PNG files (created if missing)")
    renderer.add_argument("--model", help="use this model's render settings (default: the standard 3 views)")
    renderer.add_argument("--mode", default="shaded", choices=["shaded", "depth", "normals", "texture"],
                          help="render mode when no --model is given (default: shaded)")
    renderer.add_argument("--size", type=int, default=224, help="image size when no --model is given (default: 224)")
    renderer.set_defaults(handler=render)

    server = commands.add_parser("demo", help="serve the web demo (Gradio) in a browser",
                                 description="Serve the AffectVLM web page: upload a face mesh or a .zip of frames, "
                                             "see its views, emotion scores, view weights and zero-shot scores.")
    server.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or Hub id (default: bundled)")
    server.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; 0.0.0.0 serves other machines (default: 127.0.0.1)")
    server.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    for limit in dataclasses.fields(DemoLimits):
        server.add_argument(f"--{limit.name.replace('_', '-')}", type=type(limit.default), default=limit.default,
                            metavar="N", help=f"{limit.metadata['help']} (default: %(default)s)")
    server.set_defaults(handler=demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
