"""Command-line value types shared by the scripts and `scripts/train.py`'s config options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def comma_list(kind: Callable[[str], T] = str) -> Callable[[str], list[T]]:
    """An argparse type for "a,b,c": each non-blank piece, stripped, through `kind` (str, int, float...). A piece
    `kind` refuses becomes argparse's usage error naming it, not a traceback."""
    name = getattr(kind, "__name__", "value")

    def parse(text: str) -> list[T]:
        values = []
        for piece in filter(None, (piece.strip() for piece in text.split(","))):
            try:
                values.append(kind(piece))
            except ValueError:
                raise argparse.ArgumentTypeError(f"{piece!r} in {text!r} is not a valid {name}") from None
        return values

    parse.__name__ = f"comma-separated {name} list"
    return parse
