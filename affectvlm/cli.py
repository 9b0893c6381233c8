"""The `affectvlm` command: score face meshes (`predict`), save their rendered views (`render`), serve the web
demo (`demo`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path

from .bundled import DEFAULT_MODEL, load_pretrained
from .model.meshes_affectvlm import MeshFormatError
from .model.sequences_affectvlm import FRAME_SAMPLINGS
from .ui.limits import DemoLimits



def _load(model_path: str):
    """Model and processor from a folder or Hub id (registration makes remote code unnecessary)."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    try:
        return load_pretrained(model_path)
    except FileNotFoundError as error:
        raise SystemExit(f"affectvlm: {error}") from None


def _sequence_frames(path: Path, workdir: Path) -> list[Path]:
    """The mesh frames of a folder or .zip, in natural name order (frame_2 before frame_10); a zip is unpacked
    into `workdir` with the demo's safety checks (no escaping entries, no zip bombs)."""
    from .model.meshes_affectvlm import MESH_READERS
    from .model.sequences_affectvlm import folder_frames
    from .ui.archives import extract_frames
    from .ui.limits import DemoLimits, InputError

    if not path.exists():
        raise MeshFormatError(f"{path}: file not found")
    if path.is_dir():
        frames = folder_frames(path)
    else:
        try:
            frames = extract_frames(path, workdir, DemoLimits(), sorted(MESH_READERS))
        except InputError as error:
            raise MeshFormatError(str(error)) from None
    if not frames:
        raise MeshFormatError(f"{path}: no mesh frames in it")
    return frames


def _scores(labels: list[str], logits) -> dict[str, float]:
    return {label: round(float(p), 4) for label, p in zip(labels, logits.softmax(dim=-1))}


def _score_file(model, processor, file: str, num_frames: int | None = None, frame_sampling: str = "uniform") -> dict:
    """{"file", "label", "scores"} for a mesh; for a folder or .zip of frames also "frames": one per frame
    scored (every frame, or `num_frames` chosen by `frame_sampling`), with the weight the model's temporal
    pooling gave it in the sequence's verdict."""
    import tempfile

    import torch

    labels = model.config.emotion_labels
    path = Path(file)
    with tempfile.TemporaryDirectory(prefix="affectvlm-") as workdir, torch.no_grad():
        if path.is_dir() or path.suffix.lower() == ".zip":
            frames = _sequence_frames(path, Path(workdir))
            try:
                pixel_values, chosen = processor.sequence_pixels([str(frame) for frame in frames], num_frames,
                                                                 frame_sampling)
            except MeshFormatError as error:  # name the frame inside the archive, not the temporary folder
                raise MeshFormatError(f"{file}: {str(error).replace(workdir + os.sep, '')}") from None
            output = model(pixel_values=pixel_values[None])
            per_frame = [{"frame": frames[index].name, "label": labels[int(row.argmax())],
                          "scores": _scores(labels, row), "weight": round(float(weight), 4)}
                         for index, row, weight in zip(chosen, output.frame_logits[0], output.frame_weights[0])]
        else:
            output, per_frame = model(pixel_values=processor(meshes=file)["pixel_values"]), None
    scores = _scores(labels, output.logits[0])
    result = {"file": file, "label": max(scores, key=scores.get), "scores": scores}
    return result if per_frame is None else {**result, "frames": per_frame}


def _file_error(file: str, error: Exception, debug: bool) -> str:
    """One line naming the file and the problem; an unexpected exception is a bug, worth a report."""
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, MeshFormatError):
        return str(error)
    return (f"{file}: unexpected {type(error).__name__}: {error} (a bug in affectvlm: please report it with "
            "the output of --debug)")


def _print_table(result: dict) -> None:
    ranked = sorted(result["scores"].items(), key=lambda item: -item[1])
    frames = f" ({len(result['frames'])} frames)" if "frames" in result else ""
    print(f"{result['file']}: {result['label']}{frames}")
    for label, score in ranked:
        print(f"  {label:<10} {score:6.1%}  {'#' * round(score * 40)}")
    if frames:
        print("  per frame: " + " ".join(frame["label"] for frame in result["frames"]))


def predict(args: argparse.Namespace) -> int:
    """Score every file; a file that fails is one error line (and a {"file", "error"} record in --json), and
    the others are still scored. Exit code 1 when any file failed."""
    model, processor = _load(args.model)
    processor.check_face = not args.no_face_check
    results, failed = [], 0
    for file in args.files:
        try:
            result = _score_file(model, processor, file, args.num_frames, args.frame_sampling)
        except Exception as error:  # one file's failure, whatever it is, must not lose the others' results
            message = _file_error(file, error, args.debug)
            print(f"affectvlm: error: {message}", file=sys.stderr)
            failed += 1
            results.append({"file": file, "error": message})
            continue
        results.append(result)
        if not args.json:
            _print_table(result)
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
    processor.check_face = not args.no_face_check
    try:
        images = processor.render(args.file)
    except Exception as error:  # one line, never a traceback unless --debug
        print(f"affectvlm: error: {_file_error(args.file, error, args.debug)}", file=sys.stderr)
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


def _add_file_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--no-face-check", action="store_true",
                         help="render and score meshes that do not look like a face (research use; by default "
                              "they are refused)")
    command.add_argument("--debug", action="store_true", help="print the full traceback of any error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="affectvlm", description="3D facial emotion recognition with AffectVLM.")
    commands = parser.add_subparsers(dest="command", required=True)

    scorer = commands.add_parser("predict", help="score the emotion of face meshes",
                                 description="Render each mesh, encode its views and print emotion probabilities.")
    scorer.add_argument("files", nargs="+", metavar="FILE",
                        help="mesh files (.obj .ply .stl .off .glb .gltf .wrl .bnt), or a folder or .zip of frames "
                             "(a 4D sequence, frames in name order)")
    scorer.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or Hub id (default: bundled)")
    scorer.add_argument("--json", action="store_true",
                        help="print a JSON list of {file, label, scores} (sequences add per-frame {frame, label, "
                             "scores, weight}: weight is the frame's share of the verdict); a file that failed is "
                             "{file, error}")
    scorer.add_argument("--num-frames", type=int, default=None,
                        help="sequences: score this many frames (default: every frame)")
    scorer.add_argument("--frame-sampling", choices=FRAME_SAMPLINGS, default="uniform",
                        help="sequences with --num-frames: spread them over the whole sequence (uniform) or over "
                             "the half around the frame that moved most (apex) (default: uniform)")
    _add_file_options(scorer)
    scorer.set_defaults(handler=predict)

    renderer = commands.add_parser("render", help="save the rendered views of a mesh as PNG",
                                   description="Render a mesh into the model's views and save each as a PNG.")
    renderer.add_argument("file", metavar="FILE", help="a mesh file")
    renderer.add_argument("--out", required=True, help="folder for the PNG files (created if missing)")
    renderer.add_argument("--model", help="use this model's render settings (default: the standard 3 views)")
    renderer.add_argument("--mode", default="shaded", choices=["shaded", "depth", "normals", "texture"],
                          help="render mode when no --model is given (default: shaded)")
    renderer.add_argument("--size", type=int, default=224, help="image size when no --model is given (default: 224)")
    _add_file_options(renderer)
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
