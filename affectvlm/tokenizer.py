"""CLIP's real BPE tokenizer, built offline from the merges file the package ships.

The vocabulary is derived exactly as OpenAI CLIP derives it (256 byte symbols, their `</w>` forms, the
merges, two special tokens: 49,408 tokens), so our checkpoints and those started from CLIP share ids.
"""

from __future__ import annotations

import gzip
from functools import lru_cache

from transformers import CLIPTokenizer

from .bundled import CLIP_BPE

MERGE_COUNT = 49152 - 256 - 2  # CLIP keeps the first 48,894 merges
MAX_LENGTH = 77


def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP's reversible map of the 256 byte values to printable characters, in byte-symbol order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


@lru_cache(maxsize=1)
def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    with CLIP_BPE.open("rb") as handle:
        lines = gzip.decompress(handle.read()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : MERGE_COUNT + 1]]
    symbols = _bytes_to_unicode()
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + ["".join(pair) for pair in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}, merges


def clip_tokenizer() -> CLIPTokenizer:
    """A fresh CLIPTokenizer with CLIP's vocabulary (no download)."""
    vocab, merges = _vocab_and_merges()
    return CLIPTokenizer(vocab=dict(vocab), merges=list(merges), model_max_length=MAX_LENGTH)


__all__ = ["clip_tokenizer"]
