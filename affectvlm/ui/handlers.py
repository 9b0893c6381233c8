"""The bridge between the page and the predict path: one request in, the components' values (or a gr.Error
naming the file and the problem) out.

Concurrency: requests run on a pool of `limits.concurrency` worker threads, each with its own GL context (one
per thread, made once) sharing the one model, so several visitors are served at once while the GL contexts
stay bounded. Every output file (.glb, view images) is written to a fresh folder per request, under a temporary
name and then renamed, so no file a client may be downloading is ever rewritten.
"""

from __future__ import annotations

import contextvars
import html
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr

from .analysis import Analysis, Reading
from .hardware import analysis_on_device
from .limits import DemoLimits, InputError
from .presentation import IDLE_STATUS, error_status, gallery_captions, status_markdown, timeline_frame
from .prompts import parse_emotions

logger = logging.getLogger(__name__)

_REMEMBERED_ERRORS = 1024


def write_atomically(folder: Path, name: str, data: bytes) -> str:
    """Write `folder/name` whole or not at all: a reader never sees a partly written file."""
    staging = folder / f".{name}.partial"
    staging.write_bytes(data)
    os.replace(staging, folder / name)
    return str(folder / name)


def _request_folder(cache_dir: str) -> Path:
    """A folder of its own for one request's outputs, inside Gradio's cache (which ages its files out)."""
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="affectvlm-", dir=cache_dir))


def _output_files(analysis: Analysis, cache_dir: str) -> tuple[str, list[tuple[str, str]]]:
    """The viewer's .glb and the gallery's (image file, caption) pairs, written for this request only."""
    import io

    folder = _request_folder(cache_dir)
    shown = Path(analysis.frames[analysis.shown_frame].name).stem
    viewer = write_atomically(folder, f"{shown}.glb", analysis.viewer_glb)
    gallery = []
    for (name, image), caption in zip(analysis.views, gallery_captions(analysis)):
        encoded = io.BytesIO()
        image.save(encoded, format="png")
        gallery.append((write_atomically(folder, f"{shown}_{name}.png", encoded.getvalue()), caption))
    return viewer, gallery


def _outputs(analysis: Analysis | None = None, cache_dir: str = "", seconds: float = 0.0,
             status: str = IDLE_STATUS) -> tuple:
    """Values for (viewer, views, emotions, view weights, zero-shot, timeline, status)."""
    if analysis is None:
        return None, None, None, None, None, gr.LinePlot(value=None, visible=False), status
    viewer, gallery = _output_files(analysis, cache_dir)
    return (
        viewer,
        gallery,
        analysis.overall.emotions,
        analysis.overall.view_weights,
        analysis.overall.zero_shot or None,
        gr.LinePlot(value=timeline_frame(analysis), visible=analysis.is_sequence),
        status_markdown(analysis, seconds),
    )


class LastErrors:
    """The latest error of each session (a bounded number of them), so that the page can keep it in the status
    line after Gradio's toast fades: a handler that raises cannot also set its outputs."""

    def __init__(self, capacity: int = _REMEMBERED_ERRORS) -> None:
        self._errors: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def remember(self, request: gr.Request | None, message: str) -> None:
        if request is None or request.session_hash is None:
            return
        with self._lock:
            self._errors[request.session_hash] = message
            self._errors.move_to_end(request.session_hash)
            while len(self._errors) > self._capacity:
                self._errors.popitem(last=False)

    def pop(self, request: gr.Request | None) -> str | None:
        if request is None or request.session_hash is None:
            return None
        with self._lock:
            return self._errors.pop(request.session_hash, None)


# What the page offers for a sequence's verdict: the frames the model's temporal pooling reads.
SEQUENCE_VERDICTS = {"every frame": None, "16 frames around the apex": 16}
DEFAULT_VERDICT = "every frame"


def _apex_frames(verdict: str | None) -> int | None:
    """The frames around the apex a verdict choice reads (None: every frame); an unknown choice is refused."""
    choice = verdict or DEFAULT_VERDICT
    if choice not in SEQUENCE_VERDICTS:
        raise InputError(f"sequence verdict {choice!r}: choose one of {', '.join(map(repr, SEQUENCE_VERDICTS))}")
    return SEQUENCE_VERDICTS[choice]


def analyse_handler(model, processor, limits: DemoLimits, cache_dir: str,
                    errors: LastErrors | None = None) -> Callable[..., tuple]:
    """The page's event handler; `errors` (when given) remembers each session's last error for `error_handler`.

    A .zip is unpacked into a temporary folder that is gone when the handler returns. A plain function: a
    generator (which could clean up after Gradio copied its outputs) sends its value twice, and Gradio 6.31's
    3D viewer then shows nothing.
    """
    workers = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="affectvlm-demo")
    analyse_on_device = analysis_on_device(model, processor)  # inside spaces.GPU on ZeroGPU

    def analyse(upload: str | None, emotions_text: str | None = None, verdict: str | None = DEFAULT_VERDICT,
                request: gr.Request = None) -> tuple:
        if not upload:
            return _outputs()
        name = Path(upload).name
        started = time.perf_counter()
        try:
            reading = Reading(tuple(parse_emotions(emotions_text, limits.max_emotions)), _apex_frames(verdict))
            with tempfile.TemporaryDirectory(prefix="affectvlm-demo-") as workdir:
                analysis = workers.submit(  # the request's context goes along: ZeroGPU counts quota by caller
                    contextvars.copy_context().run, analyse_on_device, Path(upload), Path(workdir), limits, reading
                ).result()
            return _outputs(analysis, cache_dir, time.perf_counter() - started)
        except InputError as error:
            message = str(error)
        except Exception as error:  # a reader or renderer bug must still tell the visitor which file failed
            logger.exception("analysing %s failed", name)
            message = f"{name}: could not be analysed ({type(error).__name__}); the server log has the details"
        if errors is not None:
            errors.remember(request, message)
        raise gr.Error(html.escape(message, quote=False), print_exception=False)

    return analyse


def error_handler(errors: LastErrors) -> Callable[..., tuple]:
    """Runs when an analysis failed: clears the results and puts its error in the status line, where it stays
    until the next request."""

    def show_error(request: gr.Request = None) -> tuple:
        return _outputs(status=error_status(errors.pop(request)))

    return show_error
