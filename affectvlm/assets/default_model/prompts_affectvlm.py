"""Augmented textual prompts for training and class-prompt ensembles for inference.

Training pairs every face with a varied sentence ("a joyful expression of a young female", "an older man
looking disgusted"): emotion synonyms, intensity adverbs and the subject's metadata fill sentence templates.
Inference averages a fixed set of templates per class into one class embedding.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence

# canonical adjective, canonical noun, then synonyms of each
EMOTION_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "anger": {"adjective": ("angry", "furious", "irritated", "enraged", "annoyed"), "noun": ("anger", "rage", "fury")},
    "disgust": {"adjective": ("disgusted", "repulsed", "revolted", "grossed out"), "noun": ("disgust", "revulsion")},
    "fear": {"adjective": ("fearful", "scared", "afraid", "frightened", "terrified"), "noun": ("fear", "terror")},
    "happiness": {"adjective": ("happy", "joyful", "cheerful", "delighted", "smiling"), "noun": ("happiness", "joy")},
    "sadness": {"adjective": ("sad", "unhappy", "sorrowful", "gloomy", "downcast"), "noun": ("sadness", "sorrow")},
    "surprise": {"adjective": ("surprised", "astonished", "amazed", "startled"), "noun": ("surprise", "astonishment")},
    "neutral": {"adjective": ("neutral", "expressionless", "calm", "relaxed"), "noun": ("no emotion", "calm")},
}

DEFAULT_CLASS_TEMPLATES = (
    "a face showing {noun}.",
    "a photo of a {adjective} face.",
    "a 3D scan of a person looking {adjective}.",
    "a rendered face with a {adjective} expression.",
)

AUGMENTED_TEMPLATES = (
    "{a_adjective} expression of {subject}.",
    "{subject} looking {adjective}.",
    "a 3D scan of {subject} showing {noun}.",
    "the face of {subject}, {adjective}.",
    "{subject} with {a_adjective} face.",
    "a rendered face of {subject} expressing {noun}.",
    "a photo of {subject} who feels {noun}.",
    "{subject} who is {adjective}.",
)

INTENSITY_ADVERBS = {1: "slightly", 2: "moderately", 3: "clearly", 4: "intensely"}
AGE_WORDS = {"child": "young", "young": "young", "adult": "adult", "middle-aged": "middle-aged", "older": "older"}
GENDER_NOUNS = {"female": ("female", "woman"), "male": ("male", "man")}
TEMPLATE_FIELDS = {"adjective", "noun"}


def validate_template(template: str) -> None:
    """A class template may use only {adjective} and {noun}, and at least one of them."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    if not fields or not fields <= TEMPLATE_FIELDS:
        raise ValueError(f"class prompt template {template!r} must use {{adjective}} and/or {{noun}} only")


def emotion_words(label: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Adjectives and nouns for a label; an unknown label (zero-shot) stands for itself."""
    words = EMOTION_WORDS.get(label.strip().lower())
    if words is None:
        return (label,), (label,)
    return words["adjective"], words["noun"]


def class_prompts(labels: Sequence[str], templates: Sequence[str] = DEFAULT_CLASS_TEMPLATES) -> list[str]:
    """Prompts in label-major order: labels[0] x every template, then labels[1] ..."""
    prompts = []
    for label in labels:
        adjectives, nouns = emotion_words(label)
        prompts.extend(template.format(adjective=adjectives[0], noun=nouns[0]) for template in templates)
    return prompts


def _with_article(phrase: str) -> str:
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


def describe_subject(metadata: Mapping[str, object] | None, rng: random.Random) -> str:
    """'a young female', 'an older man', 'a person' ... Unknown or missing fields are left out."""
    metadata = metadata or {}
    words = []
    age = AGE_WORDS.get(str(metadata.get("age_group", "")).lower())
    if age:
        words.append(age)
    ethnicity = metadata.get("ethnicity")
    if isinstance(ethnicity, str) and ethnicity.strip() and ethnicity.lower() not in {"none", "unknown"}:
        words.append(ethnicity.strip())
    gender = GENDER_NOUNS.get(str(metadata.get("gender", "")).lower())
    words.append(rng.choice(gender) if gender else rng.choice(("person", "face", "subject")))
    return _with_article(" ".join(words))


def augmented_prompt(label: str, metadata: Mapping[str, object] | None, rng: random.Random) -> str:
    """One varied natural sentence for a face with this emotion and (optional) metadata."""
    adjectives, nouns = emotion_words(label)
    adjective = rng.choice(adjectives)
    intensity = (metadata or {}).get("intensity")
    adverb = INTENSITY_ADVERBS.get(int(intensity)) if isinstance(intensity, (int, float)) else None
    if adverb and label.lower() != "neutral" and rng.random() < 0.5:
        adjective = f"{adverb} {adjective}"
    template = rng.choice(AUGMENTED_TEMPLATES)
    return template.format(
        adjective=adjective,
        a_adjective=_with_article(adjective),
        noun=rng.choice(nouns),
        subject=describe_subject(metadata, rng),
    )


def training_prompts(
    labels: Sequence[str],
    metadata: Sequence[Mapping[str, object] | None] | None = None,
    *,
    augment: bool = True,
    seed: int | None = None,
    templates: Sequence[str] = DEFAULT_CLASS_TEMPLATES,
) -> list[str]:
    """One prompt per face: augmented (deterministic under `seed`) or, with augment=False, the first class template."""
    if not augment:
        return [class_prompts([label], templates[:1])[0] for label in labels]
    metadata = metadata if metadata is not None else [None] * len(labels)
    if len(metadata) != len(labels):
        raise ValueError(f"got {len(labels)} labels but {len(metadata)} metadata entries")
    rng = random.Random(seed)
    return [augmented_prompt(label, meta, rng) for label, meta in zip(labels, metadata)]


__all__ = [
    "AUGMENTED_TEMPLATES",
    "DEFAULT_CLASS_TEMPLATES",
    "EMOTION_WORDS",
    "augmented_prompt",
    "class_prompts",
    "describe_subject",
    "emotion_words",
    "training_prompts",
    "validate_template",
]
