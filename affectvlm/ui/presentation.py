"""How an Analysis reads on the page: the status line, the timeline's rows, the gallery's captions. Pure
functions, so the wording and the numbers are testable without a browser."""

from __future__ import annotations

import pandas as pd

from .analysis import Analysis

IDLE_STATUS = "Upload a face to see its emotion."


def _code(text: str) -> str:
    """A file name in Markdown, as literal text whatever characters it holds."""
    return "`" + text.replace("`", "'") + "`"


def status_markdown(analysis: Analysis, seconds: float) -> str:
    """One line that says what was analysed, the verdict, and how the page's parts relate to it."""
    face = analysis.shown_face
    score = analysis.overall.emotions[analysis.label]
    if not analysis.is_sequence:
        return (f"{_code(analysis.source)}: **{analysis.label}** ({score:.0%}); {len(face.vertices):,} vertices, "
                f"{len(face.faces):,} triangles; {seconds:.2f} s")
    shown = analysis.frames[analysis.shown_frame].name.split("/", 1)[1]
    return (f"{_code(analysis.source)}: {len(analysis.frames)} frames, sequence emotion **{analysis.label}** "
            f"({score:.0%}, from the model's {analysis.temporal_pooling} pooling over {_verdict_frames(analysis)}). "
            "The viewer and "
            f"the views show frame "
            f"{analysis.shown_frame + 1} ({_code(shown)}), where {analysis.label} peaks; {seconds:.2f} s")


def _verdict_frames(analysis: Analysis) -> str:
    if analysis.apex_frames is None:
        return "the frames"
    return f"{analysis.apex_frames} frames around the apex (frames {_span(analysis.frame_weights)})"


def _span(frame_weights: tuple[float, ...]) -> str:
    """First and last frame (counted from 1) that the verdict read."""
    read = [index + 1 for index, weight in enumerate(frame_weights) if weight > 0]
    return f"{read[0]}-{read[-1]}" if read else "none"


# The timeline's series for the frame weights of a learned temporal pooling, scaled so the top frame is at 1.
FRAME_WEIGHT_SERIES = "where the model looked (frame weight, top = 1)"


def timeline_frame(analysis: Analysis) -> pd.DataFrame:
    """Long-format (frame, emotion, probability) rows for the timeline plot, frames counted from 1; with a
    learned temporal pooling, also its frame weights (relative to the largest) as one more series."""
    rows = [
        {"frame": index + 1, "emotion": emotion, "probability": probability}
        for index, frame in enumerate(analysis.frames)
        for emotion, probability in frame.emotions.items()
    ]
    if analysis.weighs_frames:
        top = max(analysis.frame_weights)
        rows += [{"frame": index + 1, "emotion": FRAME_WEIGHT_SERIES, "probability": weight / top}
                 for index, weight in enumerate(analysis.frame_weights)]
    return pd.DataFrame(rows, columns=["frame", "emotion", "probability"])


def gallery_captions(analysis: Analysis) -> list[str]:
    """A caption per view of the shown frame: its name, and its weight in the fused face embedding when the
    model learns those weights (under a plain mean every view counts equally by design: no number to show)."""
    if not analysis.weighs_views:
        return [name for name, _ in analysis.views]
    weights = analysis.frames[analysis.shown_frame].view_weights
    return [f"{name} {weights[name]:.0%}" for name, _ in analysis.views]


def error_status(message: str | None) -> str:
    """The status line after a failed request: the problem, naming the file, and that no emotion was given."""
    if not message:
        return "**Error**: the last request failed; no emotion given."
    return f"**Error**: {_escape_markdown(message)}"


def _escape_markdown(text: str) -> str:
    """Plain text that Markdown shows as typed (file names hold `*`, `_` and the like)."""
    return "".join("\\" + character if character in "\\`*_{}[]<>()#+!|~" else character for character in text)
