"""Where the demo's model runs: on the GPU when there is one, and on ZeroGPU inside `spaces.GPU`, which lends a
GPU for the length of one call. Elsewhere (no `spaces` package, or not on ZeroGPU) nothing is wrapped."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from .analysis import analyse_upload

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


# One analysis (render, encode, score one upload) is the unit of GPU work: the page and the API both run this.
# Decorated at import, so that ZeroGPU sees it before the server starts.
analyse_on_device = on_gpu(analyse_upload)
