"""The Gradio page: `build_demo` lays out the components and wires them to the handler.

Nothing here runs a model at import or launches a server; `launch_demo` is for `__main__` blocks and the CLI.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..bundled import EXAMPLES
from .analysis import mesh_suffixes
from .api import add_predict_endpoint
from .handlers import DEFAULT_VERDICT, SEQUENCE_VERDICTS, LastErrors, analyse_handler, error_handler
from .limits import DemoLimits
from .presentation import IDLE_STATUS

# Gradio's cache (uploads, the viewer's .glb, the gallery's images): every hour, drop what is a day old.
CACHE_SCHEDULE = (3600, 86400)
# The example the API page shows for the zero-shot text (Gradio's default for a Textbox, "Hello!!", is refused).
ZERO_SHOT_EXAMPLE = "bored, confused, proud"

INTRO = """\
# AffectVLM: emotions from 3D faces
Upload a face mesh, or a `.zip` of mesh frames for a 4D sequence, or pick an example below. The face is rendered
into views (frontal, left, right); a CLIP-style model scores each emotion against text prompts.
Type your own emotions to score them zero-shot.
"""


def bundled_examples() -> list[Path]:
    """The example faces shipped with the package (one per emotion, one sequence), sorted by name."""
    return sorted(path for path in EXAMPLES.iterdir() if path.suffix in {".ply", ".zip"})


def build_demo(model, processor, limits: DemoLimits = DemoLimits()) -> gr.Blocks:
    """The AffectVLM page for an already loaded model and processor, queued with `limits.concurrency`.

    Embed it in another app with `demo.render()` inside a `gr.Blocks`, or serve it with `launch_demo`.
    Analytics are off: the page makes no request beyond its own server.
    """
    if not model.has_classes:
        raise ValueError("the model cannot score its labels: it has neither class prompts "
                         "(model.set_class_prompts(**processor.class_prompt_inputs())) nor class centroids")
    examples = bundled_examples()
    with gr.Blocks(title="AffectVLM", delete_cache=CACHE_SCHEDULE, analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                upload, emotions, verdict, analyse_button = _input_column(examples, limits)
            with gr.Column(scale=2):
                outputs = _output_column(model)
        if model.config.view_fusion == "mean":
            gr.Markdown("View contributions: equal by design (this model fuses its views by a plain mean).",
                        elem_id="affectvlm-view-fusion")
        errors = LastErrors()
        analysis = gr.on(
            triggers=[upload.change, analyse_button.click, emotions.submit, verdict.change],
            fn=analyse_handler(model, processor, limits, outputs[0].GRADIO_CACHE, errors),
            inputs=[upload, emotions, verdict],
            outputs=outputs,
            api_name="analyse",
        )
        # A failed analysis leaves its error in the status line (Gradio's toast fades after a few seconds).
        analysis.failure(error_handler(errors), inputs=None, outputs=outputs, api_visibility="private")
        add_predict_endpoint(demo, model, processor, limits, example_face=examples[0])  # /predict, for programs
    return demo.queue(default_concurrency_limit=limits.concurrency)


def _with_api_example(textbox: gr.Textbox, example: str) -> gr.Textbox:
    """The textbox, showing `example` as its sample value on the API page."""
    textbox.example_payload = textbox.example_value = lambda: example
    return textbox


def launch_demo(demo: gr.Blocks, limits: DemoLimits = DemoLimits(), host: str | None = None,
                port: int | None = None, **launch_options) -> None:
    """Serve the page (blocking unless `prevent_thread_lock=True`), refusing uploads over the size limit."""
    demo.launch(server_name=host, server_port=port, max_file_size=limits.max_upload_bytes, **launch_options)


def _input_column(examples: list[Path], limits: DemoLimits) -> tuple[gr.File, gr.Textbox, gr.Radio, gr.Button]:
    """Upload, zero-shot emotions, a sequence's verdict frames, the Analyse button and the bundled examples."""
    upload = gr.File(label=f"Face mesh ({' '.join(mesh_suffixes())}) or .zip of frames", type="filepath", height=120)
    emotions = _with_api_example(gr.Textbox(label="Zero-shot emotions (optional)",
                                            placeholder="e.g. bored, confused, proud, happy",
                                            info="Comma-separated; press Enter or Analyse."), ZERO_SHOT_EXAMPLE)
    verdict = gr.Radio(list(SEQUENCE_VERDICTS), value=DEFAULT_VERDICT, label="A sequence's emotion from",
                       info="the frames the model's temporal pooling reads; the timeline shows every frame")
    analyse_button = gr.Button("Analyse", variant="primary")
    gr.Examples(examples=[[str(path)] for path in examples], inputs=[upload],
                example_labels=[path.stem.replace("_", " ") for path in examples],
                label="Synthetic examples (a held-out identity)")
    gr.Markdown(
        f"Sequences: a `.zip` of up to {limits.max_frames} mesh frames, taken in name order "
        "(frame_2 before frame_10). Its emotion is the model's: frame embeddings pooled over time (every frame, "
        "or the frames around the apex, where the face moved most from the first frame).\n\n"
        "The bundled default model has only seen synthetic faces; do not use it to judge anyone."
    )
    return upload, emotions, verdict, analyse_button


def _output_column(model) -> list:
    """The viewer, views, score panels, timeline and status line, in the order the handlers fill them."""
    status = gr.Markdown(IDLE_STATUS, label="Status", elem_id="affectvlm-status")
    with gr.Row():
        viewer = gr.Model3D(label="Face", height=300, interactive=False)
        views = gr.Gallery(label="Rendered views", columns=3, height=300, object_fit="contain", interactive=False)
    with gr.Row():
        emotion_scores = gr.Label(label="Emotion", num_top_classes=len(model.config.emotion_labels),
                                  elem_id="affectvlm-emotion")
        # Under mean fusion every view weighs 1/3 by design: a panel of equal bars would say nothing.
        view_weights = gr.Label(label="View contributions", show_heading=False,
                                visible=model.config.view_fusion != "mean", elem_id="affectvlm-view-weights")
        zero_shot = gr.Label(label="Zero-shot emotions", elem_id="affectvlm-zero-shot")
    timeline = gr.LinePlot(x="frame", y="probability", color="emotion", y_lim=[0, 1], label="Emotion per frame",
                           visible=False, elem_id="affectvlm-timeline")
    return [viewer, views, emotion_scores, view_weights, zero_shot, timeline, status]
