"""How a 4D capture unfolds in time: when the expression starts, how fast it rises and falls, how long the
apex holds, and the motion around it that is not the emotion (blinks, talking, head turns).

A posed envelope of fixed timing (neutral -> onset -> apex -> offset -> neutral in set shares) gives every
frame-level method the same evidence: a mean of frames and a vote of frames see the same thing. Real clips
differ: BU-4DFE's often start late or stop before returning to neutral, people blink and turn their heads.
A timeline drawn here gives each frame its expression level, its distractor action units and its head pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# talking moves the jaw and the lips; blinking closes the eyes (FACS action units, see expressions.py)
BLINK_UNIT, JAW_UNIT, LIP_UNITS = 45, 26, (18, 22)


@dataclass(frozen=True)
class SequenceDynamics:
    """Spreads of a captured sequence's timing and distractors. Shares are of the sequence's length; the
    length itself is uniform in [min_frames, the requested frames]."""

    min_frames: int = 25
    onset_start: tuple[float, float] = (0.0, 0.4)  # when the rise begins
    onset_length: tuple[float, float] = (0.08, 0.3)
    apex_length: tuple[float, float] = (0.1, 0.45)
    offset_length: tuple[float, float] = (0.08, 0.35)
    peak_level: tuple[float, float] = (0.55, 1.0)  # of the recipe's full activation
    start_mid_probability: float = 0.2  # the clip starts during the rise or the apex
    blink_rate: float = 0.35  # blinks per second
    talking_probability: float = 0.4  # the jaw and lips move as in speech over part of the clip
    turn_probability: float = 0.5  # the head turns (yaw) once, smoothly
    max_turn: float = 15.0  # degrees, the largest yaw a turn reaches from the start
    drift: float = 3.0  # degrees: spread of the slow drift over the whole clip


CAPTURED_DYNAMICS = SequenceDynamics()


@dataclass(frozen=True)
class Timeline:
    """Per frame: the expression level (0..1 of the apex), its phase, the distractor units' activations,
    and the head pose offset (yaw, pitch, roll in degrees) added to the clip's starting pose."""

    levels: np.ndarray  # (frames,)
    phases: list[str]
    distractors: list[dict[int, float]]
    poses: np.ndarray  # (frames, 3)


def _ramp(x: np.ndarray) -> np.ndarray:
    """A smooth (half-cosine) rise from 0 at x <= 0 to 1 at x >= 1."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _envelope(count: int, dynamics: SequenceDynamics, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Levels and phases: a rise of random start and speed, a held apex of random length and level, a fall
    that may run past the end of the clip (then it never returns to neutral)."""
    start = rng.uniform(*dynamics.onset_start)
    if rng.random() < dynamics.start_mid_probability:
        start = -rng.uniform(0.0, dynamics.onset_length[1])  # already rising (or at the apex) at frame 0
    rise, hold, fall = (rng.uniform(*dynamics.onset_length), rng.uniform(*dynamics.apex_length),
                        rng.uniform(*dynamics.offset_length))
    peak = rng.uniform(*dynamics.peak_level)
    t = (np.arange(count) + 0.5) / count
    apex_start, apex_end = start + rise, start + rise + hold
    levels = peak * (_ramp((t - start) / rise) - _ramp((t - apex_end) / fall))
    phases = ["neutral" if time < start or time >= apex_end + fall else "onset" if time < apex_start
              else "apex" if time < apex_end else "offset" for time in t]
    return levels, phases


def _blinks(count: int, fps: float, rate: float, rng: np.random.Generator) -> np.ndarray:
    """AU45 per frame: blinks at random times, each closing and opening over about 0.2 s."""
    closure = np.zeros(count)
    half = max(fps * 0.1, 1.0)
    for centre in rng.uniform(0, count, rng.poisson(rate * count / fps)):
        closure = np.maximum(closure, np.clip(1.0 - np.abs(np.arange(count) - centre) / half, 0.0, 1.0))
    return closure


def _talking(count: int, fps: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Jaw and lip activations of speech-like movement (3-6 Hz) over a random span of the clip."""
    span = rng.uniform(0.3, 1.0) * count
    first = rng.uniform(0, count - span)
    frames = np.arange(count)
    inside = (frames >= first) & (frames < first + span)
    phase = 2 * np.pi * rng.uniform(3.0, 6.0) * frames / fps + rng.uniform(0, 2 * np.pi)
    jaw = inside * rng.uniform(0.1, 0.35) * (0.5 + 0.5 * np.sin(phase))
    lips = inside * rng.uniform(0.05, 0.3) * (0.5 + 0.5 * np.sin(1.7 * phase))
    return jaw, lips


def _head_motion(count: int, dynamics: SequenceDynamics, rng: np.random.Generator) -> np.ndarray:
    """Yaw, pitch, roll offsets: a slow linear drift, and maybe one smooth turn of the head, at most
    `max_turn` degrees of yaw away from where it started."""
    place = np.linspace(0.0, 1.0, count)[:, None]
    poses = place * dynamics.drift * rng.standard_normal(3)
    if rng.random() < dynamics.turn_probability:
        begin, length = rng.uniform(0.0, 0.7), rng.uniform(0.1, 0.3)
        poses[:, 0] += rng.uniform(-1, 1) * dynamics.max_turn * _ramp((place[:, 0] - begin) / length)
    poses[:, 0] = np.clip(poses[:, 0], -dynamics.max_turn, dynamics.max_turn)
    return poses


def draw_timeline(max_frames: int, fps: float, dynamics: SequenceDynamics, rng: np.random.Generator) -> Timeline:
    """A random timeline of between `dynamics.min_frames` and `max_frames` frames."""
    count = int(rng.integers(min(dynamics.min_frames, max_frames), max_frames + 1))
    levels, phases = _envelope(count, dynamics, rng)
    blink = _blinks(count, fps, dynamics.blink_rate, rng)
    jaw = lips = np.zeros(count)
    if rng.random() < dynamics.talking_probability:
        jaw, lips = _talking(count, fps, rng)
    lip_unit = LIP_UNITS[int(rng.integers(len(LIP_UNITS)))]
    distractors = [{unit: float(value) for unit, value in ((BLINK_UNIT, blink[i]), (JAW_UNIT, jaw[i]), (lip_unit, lips[i]))
                    if value > 0} for i in range(count)]
    return Timeline(levels, phases, distractors, _head_motion(count, dynamics, rng))


__all__ = ["CAPTURED_DYNAMICS", "SequenceDynamics", "Timeline", "draw_timeline"]
