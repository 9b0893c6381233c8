"""Synthetic 4D faces: an expression rising and falling over a sequence of frames, either posed (a fixed
envelope, the prototype at full intensity) or captured (a random timeline with distractor motion, see
dynamics.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.emotions import EMOTIONS_WITH_NEUTRAL
from ..model.meshes_affectvlm import FaceMesh
from .attributes import subject_attributes
from .dynamics import SequenceDynamics, Timeline, draw_timeline
from .expressions import Expression, checked_intensity, draw_expression, expression_weights, recipe_weights, unit_weights
from .face_model import face_model, identity_vertices
from .faces import cropped_mesh
from .openings import capped_openings
from .variation import NO_VARIATION, Variation, pose_and_scan, scan_mask, shape_warp

# Identity seeds of 4D subjects start here by default, so no 3D training set (seeds below 40,000) shares them.
SEQUENCE_SUBJECT_SEED_OFFSET = 50_000
# The phases of a posed 4D expression and the share of the sequence each takes.
SEQUENCE_PHASES: tuple[tuple[str, float], ...] = (
    ("neutral", 0.1), ("onset", 0.25), ("apex", 0.3), ("offset", 0.25), ("neutral", 0.1)
)


def expression_envelope(num_frames: int) -> list[tuple[str, float]]:
    """(phase, expression level 0..1) per frame: neutral -> onset -> apex -> offset -> neutral.

    Onset and offset are smooth (half-cosine) ramps, as a posed expression rises and falls.
    """
    if num_frames < len(SEQUENCE_PHASES):
        raise ValueError(f"a sequence needs at least {len(SEQUENCE_PHASES)} frames, got {num_frames}")
    bounds = np.cumsum([0.0] + [share for _, share in SEQUENCE_PHASES])
    envelope = []
    for frame in range(num_frames):
        t = (frame + 0.5) / num_frames
        index = min(int(np.searchsorted(bounds, t, side="right")) - 1, len(SEQUENCE_PHASES) - 1)
        phase = SEQUENCE_PHASES[index][0]
        within = (t - bounds[index]) / (bounds[index + 1] - bounds[index])
        level = {"neutral": 0.0, "apex": 1.0, "onset": 0.5 - 0.5 * np.cos(np.pi * within),
                 "offset": 0.5 + 0.5 * np.cos(np.pi * within)}[phase]
        envelope.append((phase, float(level)))
    return envelope


def posed_timeline(num_frames: int) -> Timeline:
    """The fixed envelope as a timeline: no distractors and no head motion (the posed clip drifts, below)."""
    envelope = expression_envelope(num_frames)
    return Timeline(np.array([level for _, level in envelope]), [phase for phase, _ in envelope],
                    [{} for _ in envelope], np.zeros((num_frames, 3)))


@dataclass(frozen=True)
class SequenceClip:
    """A clip's time: `num_frames` at `fps`; with `dynamics` a captured clip (random timeline, distractor
    motion, `dynamics.min_frames` to `num_frames` frames), without them a posed clip of fixed timing."""

    num_frames: int = 25
    fps: float = 25.0
    dynamics: SequenceDynamics | None = None


def _apex_and_timeline(emotion: str, intensity: int, clip: SequenceClip, variation: Variation,
                       rng: np.random.Generator) -> tuple[np.ndarray, Timeline]:
    """The expression's apex action-unit weights and the timeline that scales them frame by frame: the
    prototype on the posed envelope, or a random training recipe on a drawn timeline."""
    if clip.dynamics is None:
        return expression_weights(emotion, intensity, variation, rng), posed_timeline(clip.num_frames)
    recipe = draw_expression(emotion, "train", rng).recipe
    apex_weights = recipe_weights(Expression(emotion, recipe, 1.0), variation, rng)
    return apex_weights, draw_timeline(clip.num_frames, clip.fps, clip.dynamics, rng)


def synthesize_sequence(subject_seed: int, emotion: str, clip: SequenceClip = SequenceClip(),
                        variation: Variation = NO_VARIATION, sample_seed: int = 0) -> list[FaceMesh]:
    """A 4D face: the frames of `clip`.

    Posed (no `clip.dynamics`): neutral -> onset -> apex -> offset -> neutral, peaking at the prototype's full
    intensity, as BU-4DFE's posed sequences do. Captured: a random training recipe on a random timeline, with
    blinks, talking and head turns. One expression (with its variation), one starting head pose, one shape
    warp, one crop decision and one choice of filled eyes and mouth hold for the whole sequence, with head
    motion and fresh scanner noise per frame, as a real 4D capture would have.
    """
    intensity = checked_intensity(emotion, None)
    model = face_model()
    seeds = [subject_seed, EMOTIONS_WITH_NEUTRAL.index(emotion), intensity, sample_seed]
    rng = np.random.default_rng([*seeds, 4])
    # the warp and the caps draw from a stream of their own, so sequences made without them stay as they were
    shape_rng = np.random.default_rng([*seeds, 5])
    identity = identity_vertices(subject_seed)
    identity = identity + shape_warp(identity, variation, shape_rng)
    cap_seed = int(shape_rng.integers(2**31))
    apex_weights, timeline = _apex_and_timeline(emotion, intensity, clip, variation, rng)
    start_pose = variation.head_pose * rng.standard_normal(3)
    motion = timeline.poses
    if clip.dynamics is None:  # the posed clip's slow drift
        motion = np.linspace(0.0, 1.0, clip.num_frames)[:, None] * (0.3 * variation.head_pose * rng.standard_normal(3))
    keep = scan_mask(identity, variation, np.random.default_rng(int(rng.integers(2**31))))
    attributes = subject_attributes(subject_seed)
    frames = []
    for frame, (level, phase) in enumerate(zip(timeline.levels, timeline.phases)):
        weights = np.clip(float(level) * apex_weights + unit_weights(timeline.distractors[frame]), 0.0, 1.0)
        vertices = identity + np.tensordot(weights, model.expression_deltas, axes=1)
        vertices, triangles, frame_keep = capped_openings(vertices, keep, variation, np.random.default_rng(cap_seed))
        vertices = pose_and_scan(vertices, variation, rng, pose=tuple(start_pose + motion[frame]))
        metadata = {"subject": subject_seed, "emotion": emotion, "intensity": intensity, "frame": frame,
                    "time_s": frame / clip.fps, "phase": phase, "expression_level": float(level), **attributes}
        source = f"<synthetic subject {subject_seed} {emotion} frame {frame}>"
        frames.append(cropped_mesh(vertices, frame_keep, source, metadata, triangles))
    return frames
