"""The Space's endpoint for programs: `/predict`, a face mesh (or a .zip of mesh frames) in, emotions out, as
plain JSON. Typed from the function's signature (`gr.api`), so the "Use via API" page documents it; the
page's own events stay as they are.

    from gradio_client import Client, handle_file
    client = Client("http://127.0.0.1:7860/")
    result = client.predict(handle_file("face.ply"), api_name="/predict")
    result["label"], result["scores"]        # candidate_labels=["bored", "proud"] adds zero-shot scores
"""

# No `from __future__ import annotations`: Gradio reads the return annotation as an object to type the endpoint.

import contextvars
import html
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypedDict

import gradio as gr
from gradio import FileData

from .analysis import Analysis, FrameScores, Reading
from .hardware import analysis_on_device
from .limits import DemoLimits, InputError
from .prompts import parse_emotions

logger = logging.getLogger(__name__)

API_NAME = "predict"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


class Scores(TypedDict):
    label: str
    scores: dict[str, float]
    view_weights: dict[str, float]
    zero_shot: dict[str, float]


class FramePrediction(Scores):
    frame: str


class Prediction(Scores):
    file: str
    frames: list[FramePrediction]


def _ranked(scores: dict[str, float]) -> dict[str, float]:
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def _frame(scores: FrameScores, name: str) -> FramePrediction:
    return FramePrediction(frame=name, label=max(scores.emotions, key=scores.emotions.get),
                           scores=_ranked(scores.emotions), view_weights=scores.view_weights,
                           zero_shot=_ranked(scores.zero_shot))


def prediction(analysis: Analysis) -> Prediction:
    """The endpoint's answer: the whole upload's scores and, for a sequence, every frame's (in name order)."""
    overall = _frame(analysis.overall, analysis.source)
    frames = [_frame(frame, frame.name.split("/", 1)[1]) for frame in analysis.frames] if analysis.is_sequence else []
    return Prediction(file=analysis.source, label=overall["label"], scores=overall["scores"],
                      view_weights=overall["view_weights"], zero_shot=overall["zero_shot"], frames=frames)


def _upload_path(mesh_file: Any) -> Path:
    """The uploaded file's path. Gradio moves a FileData upload into its cache and refuses paths it did not
    receive; a bare string could name any file on the server, so it is refused here."""
    if not isinstance(mesh_file, dict) or not mesh_file.get("path"):
        raise InputError("mesh_file: send the file itself, e.g. handle_file('face.ply') with gradio_client")
    return Path(mesh_file["path"])


def predict_function(model, processor, limits: DemoLimits):
    """The `/predict` handler. Model calls run on one worker thread (one GL context, as on the page), with the
    request's context so that ZeroGPU can count the caller's quota."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="affectvlm-api")
    analyse_on_device = analysis_on_device(model, processor)  # the page's, inside spaces.GPU on ZeroGPU

    def predict(mesh_file: FileData, candidate_labels: list[str] | None = None) -> Prediction:
        """Emotions of a 3D face: a mesh (.obj .ply .stl .off .glb .gltf .wrl .bnt) or a .zip of mesh frames
        (a 4D sequence, frames in name order). Returns {"file", "label", "scores" (each emotion's probability,
        best first), "view_weights" (how much each rendered view counted), "zero_shot", "frames" (a sequence's
        frames, each with "frame", "label", "scores", "view_weights", "zero_shot"; [] for one mesh)}. Pass
        candidate_labels=["bored", "proud", ...] (two or more) to score those emotions zero-shot as well.

        Args:
            mesh_file: the face mesh, or a .zip of mesh frames.
            candidate_labels: optional zero-shot emotions, at least two.
        Returns:
            the prediction, as described above.
        """
        try:
            upload = _upload_path(mesh_file)  # Gradio keeps the caller's file name: errors and results use it
            emotions = parse_emotions(", ".join(candidate_labels or []), limits.max_emotions)
            with tempfile.TemporaryDirectory(prefix="affectvlm-api-") as workdir:
                analysis = worker.submit(contextvars.copy_context().run, analyse_on_device, upload, Path(workdir),
                                         limits, Reading(tuple(emotions))).result()
        except InputError as error:
            raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None
        except Exception as error:  # a reader or renderer bug must still tell the caller which file failed
            logger.exception("the API could not analyse %s", upload.name)
            raise gr.Error(html.escape(f"{upload.name}: could not be analysed ({type(error).__name__}); "
                                       "the server log has the details", quote=False)) from None
        return prediction(analysis)

    return predict


def add_predict_endpoint(demo: gr.Blocks, model, processor, limits: DemoLimits, example_face: Path) -> None:
    """Add `/predict` to `demo` (call inside its `with` block); the API page's example scores `example_face`."""
    gr.api(predict_function(model, processor, limits), api_name=API_NAME)
    endpoint = next(fn for fn in demo.fns.values() if fn.api_name == API_NAME)
    mesh_file = endpoint.inputs[0]
    url = example_url(example_face)
    example = {"path": url, "url": url, "orig_name": example_face.name, "meta": {"_type": "gradio.FileData"}}
    mesh_file.example_payload = lambda: example  # gr.api shows "..."; this is a call that works


def example_url(example_face: Path) -> str:
    """Where callers can fetch a bundled file: on a Space (SPACE_ID set), from the Space's own repository, which
    holds the package; elsewhere the file itself, valid for clients on this machine."""
    space_id = os.environ.get("SPACE_ID")
    if space_id:
        in_repository = example_face.resolve().relative_to(PACKAGE_DIR.parent).as_posix()
        return f"https://huggingface.co/spaces/{space_id}/resolve/main/{in_repository}"
    return str(example_face.resolve())
