"""Zero-shot emotions typed by a visitor: the comma-separated list parsed and checked. Each emotion is then
scored as the model scores its own classes (`processor.zero_shot_inputs`: its prompt templates filled with the
emotion, embedded and averaged)."""

from __future__ import annotations

import re

from .limits import InputError

MAX_EMOTION_CHARACTERS = 40
SOURCE = "zero-shot emotions"


def parse_emotions(text: str | None, max_count: int) -> list[str]:
    """'happy, sad,, Bored ' -> ['happy', 'sad', 'Bored']: trimmed, empties and repeats (any case) dropped.

    An empty text means no zero-shot scoring; a single emotion is refused, since a softmax over one class is
    always 100 %.
    """
    emotions: list[str] = []
    for entry in (text or "").split(","):
        emotion = re.sub(r"\s+", " ", entry).strip()
        if emotion and emotion.casefold() not in {known.casefold() for known in emotions}:
            emotions.append(emotion)
    if not emotions:
        return []
    if len(emotions) == 1:
        raise InputError(f"{SOURCE}: give at least two, separated by commas (got only {emotions[0]!r})")
    if len(emotions) > max_count:
        raise InputError(f"{SOURCE}: {len(emotions)} given, over the limit of {max_count}")
    too_long = [emotion for emotion in emotions if len(emotion) > MAX_EMOTION_CHARACTERS]
    if too_long:
        raise InputError(f"{SOURCE}: {too_long[0]!r} is longer than {MAX_EMOTION_CHARACTERS} characters")
    return emotions
