"""The bridge between the page and the predict path: one request in, the components' values (or a gr.Error
naming the file and the problem) out."""

from __future__ import annotations

import contextvars
import html
import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
from gradio.processing_utils import save_bytes_to_cache

from .analysis import Analysis
from .hardware import analysis_on_device
from .limits import DemoLimits, InputError
from .presentation import IDLE_STATUS, gallery_items, status_markdown, timeline_frame
from .prompts import parse_emotions

logger = logging.getLogger(__name__)


def _outputs(analysis: Analysis | None, viewer_file: str | None = None, seconds: float = 0.0) -> tuple:
    """Values for (viewer, views, emotions, view weights, zero-shot, timeline, status)."""
    if analysis is None:
        return None, None, None, None, None, gr.LinePlot(value=None, visible=False), IDLE_STATUS
    return (
        viewer_file,
        gallery_items(analysis),
        analysis.overall.emotions,
        analysis.overall.view_weights,
        analysis.overall.zero_shot or None,
        gr.LinePlot(value=timeline_frame(analysis), visible=analysis.is_sequence),
        status_markdown(analysis, seconds),
    )


def analyse_handler(model, processor, limits: DemoLimits, cache_dir: str) -> Callable[[str | None, str | None], tuple]:
    """The page's event handler. Every model call runs on one worker thread, so the GL context (one per
    thread) and the model's caches are made once, however many threads Gradio serves requests from.

    A .zip is unpacked into a temporary folder that is gone when the handler returns. The viewer's .glb is
    written straight into Gradio's cache (as Gradio does with the gallery's images), which `delete_cache`
    ages out. A plain function: a generator (which could clean up after Gradio copied its outputs) sends its
    value twice, and Gradio 6.31's 3D viewer then shows nothing.
    """
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="affectvlm-demo")
    analyse_on_device = analysis_on_device(model, processor)  # inside spaces.GPU on ZeroGPU

    def analyse(upload: str | None, emotions_text: str | None) -> tuple:
        if not upload:
            return _outputs(None)
        name = Path(upload).name
        started = time.perf_counter()
        try:
            emotions = parse_emotions(emotions_text, limits.max_emotions)
            with tempfile.TemporaryDirectory(prefix="affectvlm-demo-") as workdir:
                analysis = worker.submit(  # the request's context goes along: ZeroGPU counts quota by caller
                    contextvars.copy_context().run, analyse_on_device, Path(upload), Path(workdir), limits, emotions
                ).result()
        except InputError as error:
            raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None
        except Exception as error:  # a reader or renderer bug must still tell the visitor which file failed
            logger.exception("analysing %s failed", name)
            raise gr.Error(html.escape(f"{name}: could not be analysed ({type(error).__name__}); "
                                       "the server log has the details", quote=False)) from None
        shown = analysis.frames[analysis.shown_frame].name
        viewer_file = save_bytes_to_cache(analysis.viewer_glb, f"{Path(shown).stem}.glb", cache_dir)
        return _outputs(analysis, viewer_file, time.perf_counter() - started)

    return analyse
