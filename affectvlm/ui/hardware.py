"""Where the demo's model runs: on the GPU when there is one, and on ZeroGPU inside `spaces.GPU`, which lends a
GPU for the length of one call. Elsewhere (no `spaces` package, or not on ZeroGPU) nothing is wrapped."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import torch

from .analysis import Analysis, Reading, analyse_upload
from .limits import DemoLimits

Function = TypeVar("Function", bound=Callable)


def model_device() -> torch.device:
    """CUDA when available (on ZeroGPU `spaces` reports it available and moves the weights at each call)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def on_gpu(function: Function) -> Function:
    """`function` wrapped with ZeroGPU's `spaces.GPU` where the package is installed; `function` itself elsewhere
    (`spaces.GPU` also returns it unchanged off ZeroGPU)."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(function)


@functools.lru_cache(maxsize=4)
def analysis_on_device(model, processor) -> Callable[[Path, Path, DemoLimits, Reading], Analysis]:
    """`analyse_upload(upload, workdir, limits, reading)` for this model and processor, inside
    `spaces.GPU` on ZeroGPU: one analysis (render, encode, score one upload) is the unit of GPU work.

    The model is bound here, not passed per call: ZeroGPU pickles each call's arguments into its GPU process,
    and they should be a file name, not the weights. One per model, so that the page and the API share one
    ZeroGPU worker; made when the demo is built, so that ZeroGPU sees it before the server starts.
    """
    def analyse(upload: Path, workdir: Path, limits: DemoLimits, reading: Reading) -> Analysis:
        return analyse_upload(upload, model, processor, workdir, limits, reading)

    return on_gpu(analyse)
