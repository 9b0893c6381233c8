"""The AffectVLM web demo (Gradio): `build_demo(model, processor, limits)` returns an embeddable `gr.Blocks`.

    demo = build_demo(model, processor, DemoLimits(max_frames=60))
    launch_demo(demo, DemoLimits(max_frames=60), host="127.0.0.1", port=7860)

Modules: limits (what is accepted), archives (safe .zip unpacking), prompts (zero-shot emotions), viewer (.glb
and display renders), analysis (file -> scores, no Gradio), hardware (the model's device, ZeroGPU), presentation
(scores -> words and rows), handlers (request -> component values), api (the typed `/predict` endpoint for
programs), layout (the page). Gradio is imported only when `build_demo` or `launch_demo`
is first used, so `affectvlm predict` does not pay for it.
"""

from .limits import DemoLimits, InputError

_LAYOUT_NAMES = ("build_demo", "bundled_examples", "launch_demo")


def __getattr__(name: str):
    if name in _LAYOUT_NAMES:
        from . import layout

        return getattr(layout, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DemoLimits", "InputError", *_LAYOUT_NAMES]
