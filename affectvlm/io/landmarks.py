"""3D landmark files: BU-3DFE / BU-4DFE `.bnd` and Bosphorus `.lm3`, read and written.

`.bnd`: one landmark per line, `index x y z` separated by whitespace (the real files use tabs); the index is the
0-based number of the mesh vertex at the landmark. BU-3DFE marks 83 landmarks in this order: left eye 0-7,
right eye 8-15, left eyebrow 16-25, right eyebrow 26-35, nose 36-47, mouth 48-67, face contour 68-82 (the
grouping menpo3d's `.bnd` importer uses).

`.lm3`: lines starting with `#` are comments; the first other line is `<count> landmarks:`; then, per landmark,
a line with its name and a line `x y z`. Bosphorus names up to 24 landmarks (BOSPHORUS_LANDMARK_NAMES); a scan
lists only those that were visible. Layout as read by menpo3d's `.lm3` importer; the exact comment lines of the
real files are not known to us, and any are accepted.

Every problem is a MeshFormatError "<path>: <problem>" (the data layer reports it as a DatasetReadError).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..model.meshes_affectvlm import MeshFormatError

BOSPHORUS_LANDMARK_NAMES = (
    "Outer left eyebrow", "Middle left eyebrow", "Inner left eyebrow",
    "Inner right eyebrow", "Middle right eyebrow", "Outer right eyebrow",
    "Outer left eye corner", "Inner left eye corner", "Inner right eye corner", "Outer right eye corner",
    "Nose saddle left", "Nose saddle right", "Left nose peak", "Nose tip", "Right nose peak",
    "Left mouth corner", "Upper lip outer middle", "Right mouth corner", "Upper lip inner middle",
    "Lower lip inner middle", "Lower lip outer middle", "Chin middle", "Ear lobe left", "Ear lobe right",
)


def _text_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="latin-1").splitlines()
    except OSError as err:
        raise MeshFormatError(f"{path}: cannot read landmarks ({err.strerror or err})") from err


def _coordinates(line: str, path: Path, line_number: int, count: int) -> list[float]:
    """`count` numbers from one line, or a MeshFormatError naming the line."""
    fields = line.split()
    try:
        values = [float(field) for field in fields]
    except ValueError:
        values = []
    if len(values) != count or not np.isfinite(values).all():
        raise MeshFormatError(f"{path}: line {line_number} is {line.strip()[:60]!r}, expected {count} numbers")
    return values


def read_bnd(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertex indices (K,) int64, points (K, 3) float64) from a .bnd file."""
    path = Path(path)
    rows = [(number, line) for number, line in enumerate(_text_lines(path), start=1) if line.strip()]
    if not rows:
        raise MeshFormatError(f"{path}: holds no landmarks")
    values = np.array([_coordinates(line, path, number, 4) for number, line in rows])
    if (values[:, 0] != np.round(values[:, 0])).any():
        raise MeshFormatError(f"{path}: the first column must hold vertex indices (integers)")
    return values[:, 0].astype(np.int64), values[:, 1:]


def write_bnd(path: str | Path, indices: np.ndarray, points: np.ndarray) -> None:
    """Write landmarks as `index<TAB><TAB>x<TAB><TAB>y<TAB><TAB>z` lines."""
    lines = [f"{int(index)}\t\t{x:.6f}\t\t{y:.6f}\t\t{z:.6f}" for index, (x, y, z) in zip(indices, np.asarray(points))]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_lm3(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(landmark names, points (K, 3)) from a Bosphorus .lm3 file."""
    path = Path(path)
    rows = [(number, line.strip()) for number, line in enumerate(_text_lines(path), start=1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise MeshFormatError(f"{path}: holds no landmarks")
    number, header = rows[0]
    try:
        count = int(header.split()[0])
    except ValueError:
        raise MeshFormatError(f"{path}: line {number} is {header[:60]!r}, expected '<count> landmarks:'") from None
    if len(rows) - 1 != 2 * count:
        raise MeshFormatError(
            f"{path}: says {count} landmarks but holds {len(rows) - 1} lines for them, not {2 * count}"
        )
    names = [name for _, name in rows[1::2]]
    points = np.array([_coordinates(line, path, number, 3) for number, line in rows[2::2]]).reshape(-1, 3)
    return names, points


def write_lm3(path: str | Path, names: Sequence[str], points: np.ndarray, title: str = "") -> None:
    """Write named landmarks in the .lm3 layout."""
    lines = [f"# 3D landmarks {title}".rstrip(), "#", f"{len(names)} landmarks:"]
    for name, (x, y, z) in zip(names, np.asarray(points)):
        lines += [name, f"{x:.6f} {y:.6f} {z:.6f}"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_landmarks(path: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Points (K, 3) and, for .lm3, their names, from a landmark file of either kind."""
    path = Path(path)
    if path.suffix.lower() == ".bnd":
        return read_bnd(path)[1], None
    if path.suffix.lower() == ".lm3":
        names, points = read_lm3(path)
        return points, names
    raise MeshFormatError(f"{path}: unknown landmark file type {path.suffix!r}; expected .bnd or .lm3")
