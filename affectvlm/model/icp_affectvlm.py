"""The face fit's per-step arithmetic, compiled with numba: which template-to-scan pairs an ICP step keeps and
the moments Umeyama's similarity needs from them, and where a mesh's open border runs.

The fit takes about two dozen steps per face; written as a dozen small numpy calls, a step cost more than its
nearest-point search, and the border's edge sort cost as much as ten steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class PairMoments:
    """What a least-squares similarity needs from matched pairs (source: template points, target: input points)."""

    source_mean: np.ndarray  # (3,)
    target_mean: np.ndarray  # (3,)
    covariance: np.ndarray  # (3, 3): the centred targets' outer products with the centred sources, averaged
    source_variance: float  # mean squared distance of the sources from their mean
    rms: float  # root mean square of the pairs' distances (target units)


def trimmed_pair_moments(source: np.ndarray, target: np.ndarray, target_border: np.ndarray,
                         matches: tuple[np.ndarray, np.ndarray], trim: float, min_share: float) -> PairMoments | None:
    """The moments of the pairs (source[i], target[nearest[i]]) an ICP step keeps, `matches` being each
    source's (distances, nearest) as `PointGrid.query` gives them: pairs that end on the target's border are
    dropped, of the rest the `trim` share with the smallest distances kept. None when fewer than `min_share`
    of the sources end off the border."""
    distances, nearest = matches
    kept = _kept_pairs(distances, nearest, target_border, trim, min_share)
    if len(kept) == 0:
        return None
    return PairMoments(*_moments(source, target, nearest, distances, kept))


def open_border(faces: np.ndarray, count: int) -> np.ndarray:
    """A mask of the `count` vertices on the open border of triangles `faces` (edges used by one triangle)."""
    faces = np.ascontiguousarray(faces, dtype=np.int64).reshape(-1, 3)
    if faces.size and (faces.min() < 0 or faces.max() >= count):  # compiled code does not check bounds
        raise ValueError(f"triangle vertex indices span {faces.min()}..{faces.max()}, outside 0..{count - 1}")
    return _open_border(faces, count)


@numba.njit(cache=True, nogil=True)
def _kept_pairs(distances: np.ndarray, nearest: np.ndarray, border: np.ndarray, trim: float,
                min_share: float) -> np.ndarray:
    """Indices of the kept pairs, in index order (empty when too few end off the border). Of pairs tied at
    the cut-off distance, the first ones are kept."""
    inner = np.empty(len(distances), np.int64)
    count = 0
    for i in range(len(distances)):
        if not border[nearest[i]]:
            inner[count] = i
            count += 1
    if count == 0 or count < min_share * len(distances):
        return inner[:0]
    inner = inner[:count]
    keep = min(max(int(count * trim), 3), count)
    cutoff = np.partition(distances[inner], keep - 1)[keep - 1]
    kept = np.empty(keep, np.int64)
    below = 0
    for i in inner:
        below += distances[i] < cutoff
    taken, tied = 0, 0
    for i in inner:
        if distances[i] < cutoff or (distances[i] == cutoff and tied < keep - below):
            tied += distances[i] == cutoff
            kept[taken] = i
            taken += 1
    return kept


@numba.njit(cache=True, nogil=True)
def _moments(source: np.ndarray, target: np.ndarray, nearest: np.ndarray, distances: np.ndarray,
             kept: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Means, cross-covariance, source variance and distance RMS of the pairs (source[i], target[nearest[i]])."""
    source_mean, target_mean = np.zeros(3), np.zeros(3)
    squared = 0.0
    for i in kept:
        for axis in range(3):  # scalar loops: array expressions here would allocate per pair
            source_mean[axis] += source[i, axis]
            target_mean[axis] += target[nearest[i], axis]
        squared += distances[i] * distances[i]
    source_mean /= len(kept)
    target_mean /= len(kept)
    covariance, variance = np.zeros((3, 3)), 0.0
    for i in kept:
        for row in range(3):
            centred_target = target[nearest[i], row] - target_mean[row]
            for column in range(3):
                covariance[row, column] += centred_target * (source[i, column] - source_mean[column])
            variance += (source[i, row] - source_mean[row]) ** 2
    return (source_mean, target_mean, covariance / len(kept), variance / len(kept),
            np.sqrt(squared / len(kept)))


@numba.njit(cache=True, nogil=True)
def _open_border(faces: np.ndarray, count: int) -> np.ndarray:
    """Edges bucketed by their lower vertex; in each (small, sorted) bucket an upper vertex listed once is an
    edge of one triangle."""
    lower, upper = np.empty(faces.size, np.int64), np.empty(faces.size, np.int64)
    for t in range(faces.shape[0]):
        for k in range(3):
            a, b = faces[t, k], faces[t, (k + 1) % 3]
            lower[3 * t + k], upper[3 * t + k] = min(a, b), max(a, b)
    starts = np.zeros(count + 1, np.int64)
    for a in lower:
        starts[a + 1] += 1
    starts = np.cumsum(starts)
    bucket, filled = np.empty(len(upper), np.int64), starts[:-1].copy()
    for e in range(len(lower)):
        bucket[filled[lower[e]]] = upper[e]
        filled[lower[e]] += 1
    mask = np.zeros(count, np.bool_)
    for a in range(count):
        edges = bucket[starts[a]:starts[a + 1]]
        _sort_small(edges)
        for j in range(len(edges)):
            if (j == 0 or edges[j - 1] != edges[j]) and (j + 1 == len(edges) or edges[j + 1] != edges[j]):
                mask[a] = True
                mask[edges[j]] = True
    return mask


@numba.njit(cache=True, nogil=True)
def _sort_small(values: np.ndarray) -> None:
    """Sort in place: insertion sort for the few edges a vertex of a mesh has, a full sort for a big fan."""
    if len(values) > 32:
        values[:] = np.sort(values)
        return
    for j in range(1, len(values)):
        value, i = values[j], j - 1
        while i >= 0 and values[i] > value:
            values[i + 1] = values[i]
            i -= 1
        values[i + 1] = value
