"""FaceMesh: the one place a face mesh is built and checked, so later stages can trust shapes, dtypes and
finiteness, and every failure names the file or object it came from."""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from PIL import Image


class MeshFormatError(ValueError):
    """A mesh that cannot be used; the message is always "<source>: <problem>"."""


@dataclass
class FaceMesh:
    """A triangle mesh of a face with optional per-vertex appearance and landmarks.

    After `validate_mesh` (which `load_mesh` always runs) the arrays have exactly these shapes and dtypes.
    """

    vertices: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (F, 3) int64 triangles
    vertex_colors: np.ndarray | None = None  # (N, 3) uint8
    uv: np.ndarray | None = None  # (N, 2) float32 per-vertex texture coordinates
    texture: Image.Image | None = None  # RGB texture image used with uv
    landmarks: np.ndarray | None = None  # (K, 3) float32
    source: str = "<array>"  # file path or description, named in every error message
    metadata: dict = field(default_factory=dict)

    def submesh(self, keep: np.ndarray) -> "FaceMesh":
        """The triangles whose three corners are all in `keep` (a per-vertex mask), on just the vertices they
        use, with those vertices' colours and uv; landmarks, annotations rather than surface, stay as they are."""
        faces, used = kept_triangles(self.faces, keep)
        return dataclasses.replace(
            self,
            vertices=self.vertices[used],
            faces=faces,
            vertex_colors=None if self.vertex_colors is None else self.vertex_colors[used],
            uv=None if self.uv is None else self.uv[used],
        )


def kept_triangles(faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangles whose corners are all kept, renumbered onto the vertices they use, and those vertices' old
    indices (ascending)."""
    kept = faces[keep[faces].all(axis=1)]
    marked = np.zeros(len(keep), dtype=bool)  # a mask, not np.unique: no sort of every corner
    marked[kept.ravel()] = True
    used = np.flatnonzero(marked)
    remap = np.full(len(keep), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return remap[kept], used


@dataclass(frozen=True)
class MeshLimits:
    """Upper bounds that keep a hostile or mistaken input from exhausting memory or time."""

    max_vertices: int = 1_000_000
    max_faces: int = 2_000_000
    max_file_bytes: int = 256 * 1024 * 1024


_TEXT_SUFFIXES = (".obj", ".off", ".gltf")


def _is_binary_stl(data: bytes) -> bool:
    """Whether the size matches the triangle count in a binary STL header."""
    return len(data) >= 84 and len(data) == 84 + 50 * int.from_bytes(data[80:84], "little")


def _read_with_trimesh(path: Path) -> FaceMesh:
    """Parse a common format with trimesh, keeping the file's vertices in order (no merging, no cleanup)."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    # trimesh decodes non-UTF-8 text only with the optional charset_normalizer package (and fails with an
    # ImportError without it); transcoding from Latin-1 ourselves keeps every ASCII number intact.
    if suffix in _TEXT_SUFFIXES or (suffix == ".stl" and not _is_binary_stl(data)):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("latin-1").encode("utf-8")
    # Without maintain_order the OBJ reader drops vertices that no face uses, shifting landmark indices.
    options = {"maintain_order": True} if suffix == ".obj" else {}
    loaded = trimesh.load(
        io.BytesIO(data),
        file_type=suffix[1:],
        resolver=trimesh.resolvers.FilePathResolver(path),
        process=False,
        **options,
    )
    return _from_trimesh(loaded, str(path))


MESH_READERS: dict[str, Callable[[Path], FaceMesh]] = {
    suffix: _read_with_trimesh for suffix in (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")
}


def register_mesh_reader(suffixes: Iterable[str], reader: Callable[[Path], FaceMesh]) -> None:
    """Make `load_mesh` read files with these suffixes (e.g. "wrl", ".bnt") with `reader(path) -> FaceMesh`."""
    for suffix in suffixes:
        suffix = suffix.lower()
        MESH_READERS[suffix if suffix.startswith(".") else "." + suffix] = reader


def _texture_image(material: Any) -> Image.Image | None:
    """The colour texture of a trimesh material (simple or PBR), or None when it has no real image."""
    image = getattr(material, "image", None)
    if image is None:
        image = getattr(material, "baseColorTexture", None)
    # trimesh stands a uniform 2x2 image in for "no texture" when a file has uv but no image.
    if image is None or max(image.size) <= 2:
        return None
    return image.convert("RGB")


def _from_trimesh(geometry: Any, source: str) -> FaceMesh:
    """Convert a trimesh Trimesh, Scene or PointCloud; scenes are flattened with their transforms applied."""
    if isinstance(geometry, trimesh.Scene):
        parts = geometry.dump()
        meshes = [part for part in parts if isinstance(part, trimesh.Trimesh)]
        if not meshes:  # keep any points so that validation can say "a point cloud?"
            points = [np.asarray(part.vertices) for part in parts if hasattr(part, "vertices")]
            vertices = np.concatenate(points) if points else np.zeros((0, 3))
            return FaceMesh(vertices, np.zeros((0, 3), np.int64), source=source)
        geometry = meshes[0] if len(meshes) == 1 else trimesh.util.concatenate(meshes)
    if isinstance(geometry, trimesh.PointCloud):
        return FaceMesh(np.asarray(geometry.vertices), np.zeros((0, 3), np.int64), source=source)
    if not isinstance(geometry, trimesh.Trimesh):
        raise MeshFormatError(f"{source}: holds a {type(geometry).__name__}, not a triangle mesh")
    visual = geometry.visual
    colors = uv = texture = None
    if visual.kind in ("vertex", "face"):  # trimesh averages face colours onto the vertices
        colors = np.asarray(visual.vertex_colors)[:, :3]
    elif visual.kind == "texture" and visual.uv is not None:
        uv = np.asarray(visual.uv)
        texture = _texture_image(visual.material)
    return FaceMesh(
        np.asarray(geometry.vertices), np.asarray(geometry.faces), colors, uv, texture, source=source
    )


def _from_mapping(data: Mapping[str, Any]) -> FaceMesh:
    """Build from a dict with "vertices" and "faces" and optionally any other FaceMesh field."""
    source = str(data.get("source", "<dict>"))
    known = {f.name for f in dataclasses.fields(FaceMesh)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise MeshFormatError(f"{source}: unknown mesh keys {unknown}; expected some of {sorted(known)}")
    missing = [key for key in ("vertices", "faces") if key not in data]
    if missing:
        raise MeshFormatError(f"{source}: mesh dict lacks {missing}")
    return FaceMesh(**{**data, "source": source})


def _read_file(path: Path, limits: MeshLimits) -> FaceMesh:
    """Check the file before reading it, then parse it with the reader registered for its suffix."""
    source = str(path)
    if path.is_dir():
        raise MeshFormatError(f"{source}: is a directory, not a mesh file")
    if not path.exists():
        raise MeshFormatError(f"{source}: file not found")
    suffix = path.suffix.lower()
    reader = MESH_READERS.get(suffix)
    if reader is None:
        raise MeshFormatError(
            f"{source}: unsupported file type {suffix!r}; supported: {', '.join(sorted(MESH_READERS))}"
        )
    size = path.stat().st_size
    if size == 0:
        raise MeshFormatError(f"{source}: file is empty")
    if size > limits.max_file_bytes:
        raise MeshFormatError(f"{source}: file is {size} bytes, over the limit of {limits.max_file_bytes}")
    try:
        mesh = reader(path)
    except MeshFormatError:
        raise
    except Exception as err:  # parsers fail in many ways on bad input; report one kind of error
        raise MeshFormatError(f"{source}: cannot parse as a {suffix} mesh ({type(err).__name__}: {err})") from err
    return dataclasses.replace(mesh, source=source)


def load_mesh(
    source: str | os.PathLike | FaceMesh | trimesh.Trimesh | trimesh.Scene | tuple | list | Mapping[str, Any],
    limits: MeshLimits = MeshLimits(),
) -> FaceMesh:
    """Load and validate a mesh from any supported input, raising MeshFormatError for anything unusable.

    `source` is a file path (str or os.PathLike), a FaceMesh, a trimesh Trimesh/Scene/PointCloud, a
    (vertices, faces) pair, or a dict with "vertices", "faces" and optionally other FaceMesh fields.
    The result never shares arrays with the input.
    """
    if isinstance(source, FaceMesh):
        mesh = source
    elif isinstance(source, (str, os.PathLike)):
        mesh = _read_file(Path(source), limits)
    elif isinstance(source, (trimesh.Trimesh, trimesh.Scene, trimesh.PointCloud)):
        mesh = _from_trimesh(source, f"<{type(source).__name__}>")
    elif isinstance(source, Mapping):
        mesh = _from_mapping(source)
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        mesh = FaceMesh(source[0], source[1], source="<(vertices, faces)>")
    else:
        raise MeshFormatError(
            f"<{type(source).__name__}>: cannot make a mesh from this; pass a path, FaceMesh, trimesh object, "
            "(vertices, faces) pair or dict"
        )
    return validate_mesh(mesh, limits)


def _as_rows(value: Any, widths: tuple[int, ...], name: str, source: str) -> np.ndarray:
    """`value` as a numeric (n, width) array for one of `widths`, or a MeshFormatError saying what it is."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise MeshFormatError(f"{source}: {name} is not a numeric array ({err})") from err
    if array.size == 0:
        array = array.reshape(0, widths[0])
    if array.ndim != 2 or array.shape[1] not in widths or not np.issubdtype(array.dtype, np.number):
        shape = " or ".join(f"(n, {width})" for width in widths)
        raise MeshFormatError(f"{source}: {name} must be a numeric {shape} array, got {array.dtype} {array.shape}")
    return array


def _per_vertex(value: Any, widths: tuple[int, ...], name: str, count: int, source: str) -> np.ndarray:
    """A per-vertex attribute: one finite row per vertex."""
    array = _as_rows(value, widths, name, source)
    if len(array) != count:
        raise MeshFormatError(f"{source}: {name} has {len(array)} rows for {count} vertices")
    if not np.isfinite(array).all():
        raise MeshFormatError(f"{source}: {name} contain NaN or infinite values")
    return array


def _colors_uint8(colors: np.ndarray, source: str) -> np.ndarray:
    """RGB(A) as 0..255 integers or 0..1 floats -> (N, 3) uint8."""
    rgb = colors[:, :3]
    if np.issubdtype(rgb.dtype, np.floating):
        if rgb.min() < 0 or rgb.max() > 1:
            raise MeshFormatError(f"{source}: float vertex_colors must lie in [0, 1]")
        return np.rint(rgb * 255).astype(np.uint8)
    if rgb.min() < 0 or rgb.max() > 255:
        raise MeshFormatError(f"{source}: integer vertex_colors must lie in [0, 255]")
    return rgb.astype(np.uint8)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _float32_vertices(vertices: np.ndarray, source: str) -> np.ndarray:
    """The vertices as float32, refusing what float32 cannot hold: NaN or infinite values, coordinates beyond
    its range (1e39 is finite in float64, infinite in float32) and an extent that is zero once converted
    (every vertex identical, or differences as small as 1e-300 that float32 rounds away)."""
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        raise MeshFormatError(f"{source}: {bad.sum()} of {len(vertices)} vertices are NaN or infinite")
    largest = float(np.abs(vertices).max())
    if largest > _FLOAT32_MAX:
        raise MeshFormatError(
            f"{source}: a coordinate of {largest:.3g} lies beyond the float32 range (+-{_FLOAT32_MAX:.3g})"
        )
    single = vertices.astype(np.float32)
    if np.ptp(single, axis=0).max() == 0:
        if np.ptp(vertices, axis=0).max() > 0:
            raise MeshFormatError(
                f"{source}: the vertices differ by at most {np.ptp(vertices, axis=0).max():.3g}, which float32 "
                "rounds to zero extent"
            )
        raise MeshFormatError(f"{source}: all vertices are identical (zero extent)")
    return single


def _triangles(faces: Any, count: int, limits: MeshLimits, source: str) -> np.ndarray:
    """Checked (F, 3) vertex indices into `count` vertices; quads split into (a, b, c) and (a, c, d)."""
    faces = _as_rows(faces, (3, 4), "faces", source)
    if len(faces) == 0:
        raise MeshFormatError(f"{source}: mesh has no faces (a point cloud?)")
    if not np.issubdtype(faces.dtype, np.integer):
        raise MeshFormatError(f"{source}: faces must be integer vertex indices, got {faces.dtype}")
    if faces.min() < 0 or faces.max() >= count:
        raise MeshFormatError(f"{source}: face indices span {faces.min()}..{faces.max()}, outside 0..{count - 1}")
    if faces.shape[1] == 4:
        faces = faces[:, [0, 1, 2, 0, 2, 3]].reshape(-1, 3)
    if len(faces) > limits.max_faces:
        raise MeshFormatError(f"{source}: {len(faces)} triangles, over the limit of {limits.max_faces}")
    return faces


def _texture(texture: Any, uv: np.ndarray | None, source: str) -> Image.Image | None:
    if texture is None:
        return None
    if not isinstance(texture, Image.Image):
        raise MeshFormatError(f"{source}: texture must be a PIL image, got {type(texture).__name__}")
    if uv is None:
        raise MeshFormatError(f"{source}: texture given without uv coordinates")
    return texture.convert("RGB")


def validate_mesh(mesh: FaceMesh, limits: MeshLimits = MeshLimits()) -> FaceMesh:
    """Return a checked copy of `mesh` with canonical shapes and dtypes, or raise MeshFormatError.

    Quads ((F, 4) faces) are split into two triangles each, (a, b, c) and (a, c, d), in face order.
    """
    source = str(mesh.source)
    vertices = _as_rows(mesh.vertices, (3,), "vertices", source)
    if len(vertices) == 0:
        raise MeshFormatError(f"{source}: mesh has no vertices")
    if len(vertices) > limits.max_vertices:
        raise MeshFormatError(f"{source}: {len(vertices)} vertices, over the limit of {limits.max_vertices}")
    vertices = _float32_vertices(vertices, source)

    faces = _triangles(mesh.faces, len(vertices), limits, source)
    count = len(vertices)
    colors = uv = landmarks = None
    if mesh.vertex_colors is not None:
        colors = _colors_uint8(_per_vertex(mesh.vertex_colors, (3, 4), "vertex_colors", count, source), source)
    if mesh.uv is not None:
        uv = _per_vertex(mesh.uv, (2,), "uv", count, source)
        if np.abs(uv).max(initial=0) > _FLOAT32_MAX:
            raise MeshFormatError(f"{source}: uv hold values beyond the float32 range")
        uv = uv.astype(np.float32)
    texture = _texture(mesh.texture, uv, source)
    if mesh.landmarks is not None:
        landmarks = _as_rows(mesh.landmarks, (3,), "landmarks", source)
        if not np.isfinite(landmarks).all() or np.abs(landmarks).max(initial=0) > _FLOAT32_MAX:
            raise MeshFormatError(f"{source}: landmarks contain NaN, infinite or beyond-float32 values")
        landmarks = landmarks.astype(np.float32)

    return FaceMesh(
        vertices=vertices.astype(np.float32),
        faces=faces.astype(np.int64),
        vertex_colors=colors,
        uv=uv,
        texture=texture,
        landmarks=landmarks,
        source=source,
        metadata=dict(mesh.metadata),
    )
