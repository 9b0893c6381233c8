"""VRML 2.0 (VRML97) IndexedFaceSet meshes: the `.wrl` files of BU-3DFE and BU-4DFE. trimesh reads no VRML.

Read: every `IndexedFaceSet` in the file (`coord Coordinate { point [...] }`, `coordIndex [...]`, and when
present `texCoord TextureCoordinate { point [...] }` and `texCoordIndex [...]`), concatenated in file order, and
the first `ImageTexture { url ... }`, resolved next to the file. Comments, commas and any layout of whitespace
are accepted. Polygons (BU files use 3 to 6 vertices, each list ended by -1) are fan-triangulated; polygons of
fewer than 3 vertices are dropped with a warning. Transforms, normals, colours and DEF/USE are not interpreted:
BU scans store their geometry directly in scanner coordinates.

Texture coordinates in VRML belong to polygon corners; a FaceMesh holds one uv per vertex. A vertex whose
corners carry different uv is split: it keeps the first uv seen and one copy per further uv is appended after
the file's vertices, so the file's vertex numbers (which BU-3DFE's `.bnd` landmarks refer to) stay valid.
A texture image that cannot be found is a warning; the geometry is still read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ..model.meshes_affectvlm import FaceMesh, MeshFormatError

logger = logging.getLogger(__name__)

_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|#[^\n]*')
# Patterns start with their keyword (no leading \b) so that the regex engine can jump between occurrences;
# _search then keeps only whole words (Coordinate must not match inside TextureCoordinate).
_FACE_SET = re.compile(r"IndexedFaceSet\b")
_COORDINATES = re.compile(r"Coordinate\s*\{\s*point\s*\[([^\]]*)\]")
_TEXTURE_COORDINATES = re.compile(r"TextureCoordinate\s*\{\s*point\s*\[([^\]]*)\]")
_COORD_INDEX = re.compile(r"coordIndex\s*\[([^\]]*)\]")
_TEX_COORD_INDEX = re.compile(r"texCoordIndex\s*\[([^\]]*)\]")
_TEXTURE_URL = re.compile(r'ImageTexture\s*\{[^}]*?\burl\s*\[?\s*((?:"[^"]*"[\s,]*)+)')


def _whole_words(pattern: re.Pattern, text: str) -> Iterator[re.Match]:
    """Matches of `pattern` that do not start inside a longer name."""
    for match in pattern.finditer(text):
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            yield match


def _search(pattern: re.Pattern, text: str) -> re.Match | None:
    return next(_whole_words(pattern, text), None)


def _strip_comments(text: str) -> str:
    """Drop `#` comments but keep `#` inside quoted strings (file names may hold one)."""
    return _COMMENT_OR_STRING.sub(lambda match: match.group(0) if match.group(0).startswith('"') else " ", text)


def _numbers(text: str, dtype: type, what: str, source: str) -> np.ndarray:
    """The whitespace- or comma-separated numbers of a VRML field, or a MeshFormatError naming the bad token."""
    tokens = text.replace(",", " ").split()
    try:
        return np.array(tokens, dtype=dtype)
    except ValueError:
        bad = next(token for token in tokens if not _parses(token, dtype))
        raise MeshFormatError(f"{source}: {what} holds {bad[:40]!r}, not a number") from None


def _parses(token: str, dtype: type) -> bool:
    try:
        dtype(token)
    except ValueError:
        return False
    return True


def _fan_triangles(index: np.ndarray, source: str) -> np.ndarray:
    """(T, 3) positions into `index` (a -1-terminated polygon list) of the fan triangles of each polygon."""
    if len(index) and index[-1] != -1:
        index = np.append(index, -1)  # VRML lets the last polygon end without -1
    ends = np.flatnonzero(index == -1)
    starts = np.r_[0, ends[:-1] + 1]
    sizes = ends - starts
    if (sizes < 3).any():
        logger.warning("%s: dropped %d polygon(s) with fewer than 3 vertices", source, int((sizes < 3).sum()))
        starts, sizes = starts[sizes >= 3], sizes[sizes >= 3]
    per_polygon = sizes - 2
    polygon = np.repeat(np.arange(len(starts)), per_polygon)
    step = np.arange(per_polygon.sum()) - np.repeat(np.cumsum(per_polygon) - per_polygon, per_polygon) + 1
    first = starts[polygon]
    return np.stack([first, first + step, first + step + 1], axis=1)


def _face_set(block: str, number: int, source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Vertices (N, 3), triangle corner vertex ids (T, 3) and corner uv (T, 3, 2) or None of one face set."""
    where = f"IndexedFaceSet {number}"
    points = _search(_COORDINATES, block)
    indices = _search(_COORD_INDEX, block)
    if points is None or indices is None:
        missing = "coord Coordinate { point [...] }" if points is None else "coordIndex [...]"
        raise MeshFormatError(f"{source}: {where} has no {missing}")
    vertices = _numbers(points.group(1), np.float64, f"the point list of {where}", source)
    if len(vertices) % 3:
        raise MeshFormatError(f"{source}: the point list of {where} holds {len(vertices)} numbers, not x y z triples")
    vertices = vertices.reshape(-1, 3)
    index = _numbers(indices.group(1), np.int64, f"the coordIndex of {where}", source)
    if len(index) and (index.max() >= len(vertices) or index.min() < -1):
        bad = int(index.max() if index.max() >= len(vertices) else index.min())
        raise MeshFormatError(
            f"{source}: coordIndex of {where} refers to vertex {bad}, outside 0..{len(vertices) - 1}"
        )
    corners = _fan_triangles(index, source)
    corner_uv = _corner_uv(block, index, corners, where, source)
    return vertices, index[corners], corner_uv


def _corner_uv(block: str, index: np.ndarray, corners: np.ndarray, where: str, source: str) -> np.ndarray | None:
    """uv of each triangle corner from texCoord (+ texCoordIndex, or coordIndex when it is absent)."""
    points = _search(_TEXTURE_COORDINATES, block)
    if points is None:
        return None
    texcoords = _numbers(points.group(1), np.float64, f"the texture coordinates of {where}", source)
    if len(texcoords) % 2:
        raise MeshFormatError(f"{source}: the texture coordinates of {where} are not u v pairs")
    texcoords = texcoords.reshape(-1, 2)
    tex_index = index
    found = _search(_TEX_COORD_INDEX, block)
    if found is not None:
        tex_index = _numbers(found.group(1), np.int64, f"the texCoordIndex of {where}", source)[: len(index)]
        if len(tex_index) < len(index) or ((tex_index == -1) != (index == -1)).any():
            raise MeshFormatError(f"{source}: texCoordIndex of {where} does not match the polygons of its coordIndex")
    if len(tex_index) and (tex_index.max() >= len(texcoords) or tex_index.min() < -1):
        bad = int(tex_index.max() if tex_index.max() >= len(texcoords) else tex_index.min())
        raise MeshFormatError(
            f"{source}: texCoordIndex of {where} refers to texture coordinate {bad}, outside 0..{len(texcoords) - 1}"
        )
    return texcoords[tex_index[corners]]


def _per_vertex_uv(
    vertex_count: int, faces: np.ndarray, corner_uv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split vertices whose corners disagree on uv; returns (source vertex of each output vertex, faces, uv)."""
    corner_vertex = faces.ravel()
    corner_uv = corner_uv.reshape(-1, 2)
    uv = np.zeros((vertex_count, 2))
    used, first_corner = np.unique(corner_vertex, return_index=True)
    uv[used] = corner_uv[first_corner]
    differs = (corner_uv != uv[corner_vertex]).any(axis=1)
    origin = np.arange(vertex_count)
    if differs.any():
        pairs = np.column_stack([corner_vertex[differs], corner_uv[differs]])
        extra, which = np.unique(pairs, axis=0, return_inverse=True)
        corner_vertex = corner_vertex.copy()
        corner_vertex[differs] = vertex_count + which.ravel()
        origin = np.r_[origin, extra[:, 0].astype(np.int64)]
        uv = np.r_[uv, extra[:, 1:]]
    return origin, corner_vertex.reshape(-1, 3), uv


def _texture(text: str, path: Path) -> tuple[Image.Image | None, Path | None]:
    """The first ImageTexture's image, looked up next to the file; None (with a warning) when missing."""
    found = _search(_TEXTURE_URL, text)
    if found is None:
        return None, None
    urls = re.findall(r'"([^"]*)"', found.group(1))
    for url in urls:
        candidate = path.parent / url
        if candidate.is_file():
            try:
                with Image.open(candidate) as image:
                    return image.convert("RGB"), candidate
            except OSError as err:
                logger.warning("%s: texture %s cannot be read (%s); reading the geometry without it",
                               path, candidate, err)
                return None, None
    logger.warning("%s: texture %s not found; reading the geometry without it", path, " or ".join(urls))
    return None, None


def read_vrml(path: str | Path) -> FaceMesh:
    """Read a VRML 2.0 IndexedFaceSet mesh with its uv texture, or raise MeshFormatError naming the file."""
    path = Path(path)
    source = str(path)
    text = path.read_bytes().decode("latin-1")
    if not text.lstrip().startswith("#VRML V2.0"):
        first = text.lstrip().split("\n", 1)[0][:40]
        raise MeshFormatError(f"{source}: not a VRML 2.0 file (first line {first!r}, expected '#VRML V2.0 utf8')")
    text = _strip_comments(text)
    starts = [match.start() for match in _whole_words(_FACE_SET, text)]
    if not starts:
        raise MeshFormatError(f"{source}: holds no IndexedFaceSet")
    parts = [_face_set(text[start:end], number, source)
             for number, (start, end) in enumerate(zip(starts, starts[1:] + [len(text)]), start=1)]
    offsets = np.cumsum([0] + [len(vertices) for vertices, _, _ in parts])
    vertices = np.concatenate([vertices for vertices, _, _ in parts])
    faces = np.concatenate([corner_ids + offset for (_, corner_ids, _), offset in zip(parts, offsets)])
    corner_uv = [uv for _, _, uv in parts]
    texture, texture_path = _texture(text, path)
    if any(uv is None for uv in corner_uv):
        if texture is not None:
            logger.warning("%s: has a texture but not texture coordinates for every face set; texture ignored", path)
        return FaceMesh(vertices, faces, source=source)
    origin, faces, uv = _per_vertex_uv(len(vertices), faces, np.concatenate(corner_uv))
    metadata = {} if texture_path is None else {"texture_file": str(texture_path)}
    return FaceMesh(vertices[origin], faces, uv=uv, texture=texture, source=source, metadata=metadata)


def _list_field(header: str, values: np.ndarray, fmt: str) -> str:
    """A VRML list field, one unindented row of numbers per line (indentation would add a fifth to the file)."""
    row = " ".join([fmt] * values.shape[1])
    body = ",\n".join([row] * len(values)) % tuple(values.ravel().tolist())
    return f"{header} [\n{body}\n]"


def write_vrml(path: str | Path, mesh: FaceMesh, texture_path: str | Path | None = None) -> None:
    """Write a triangle mesh as a VRML 2.0 IndexedFaceSet, as BU-3DFE stores its scans.

    With `texture_path` and a mesh with a texture, the image is saved there (its format from the suffix) and
    referenced by its file name; uv are written per vertex (texCoordIndex equal to coordIndex).
    """
    faces = np.asarray(mesh.faces, dtype=np.int64)
    polygons = np.column_stack([faces, np.full(len(faces), -1)])
    fields = ["    coord Coordinate {", _list_field("point", np.asarray(mesh.vertices), "%.4f"), "    }"]
    if mesh.uv is not None:
        fields += ["    texCoord TextureCoordinate {", _list_field("point", np.asarray(mesh.uv), "%.6f"), "    }"]
    fields.append(_list_field("coordIndex", polygons, "%d"))
    if mesh.uv is not None:
        fields.append(_list_field("texCoordIndex", polygons, "%d"))
    shape = ["  Shape {"]
    if texture_path is not None and mesh.texture is not None:
        mesh.texture.convert("RGB").save(texture_path)
        shape.append(f'    appearance Appearance {{ texture ImageTexture {{ url "{Path(texture_path).name}" }} }}')
    shape += ["    geometry IndexedFaceSet {", "    solid FALSE", *fields, "    }", "  }"]
    lines = ["#VRML V2.0 utf8", "# written by affectvlm", "Transform {", "  children [", *shape, "  ]", "}", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")
