"""The default render backend: a z-buffer rasteriser compiled with numba, drawing many meshes x views per call.

Why this and not GL: at 64-224 px a face's triangles cover a pixel or less, so the cost of a GL renderer is
per-call overhead (scene, upload, readback), not pixels. A compiled loop over triangles has none of it, needs
no system libraries (no EGL), no GL context per thread and no fork care. Each mesh (or, for fewer meshes
than cores, each view) is one job, drawn in a thread of its own (the kernels release the GIL), with the 4
anti-aliasing samples per pixel and perspective-correct interpolation that the GL reference uses, so the
pictures agree with pyrender's. The per-vertex steps every backend shares (normalisation, normals, turning them
and the vertices into each camera's frame) are compiled here too: numpy's matrix product would start BLAS
threads that fight the render pool's, and its small calls hold the GIL.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import numba
import numpy as np

from .drawing_affectvlm import PIXEL_SAMPLES, YFOV, Z_FAR, Z_NEAR, DrawableMesh, parallel_map

# The sample whose depth a depth image shows (the GL reference copies one sample, not an average).
DEPTH_SAMPLE = 0
# Samples per pixel, and so the spacing 1 / GRID of the sample grid: a compile-time constant, so that the
# z-buffer's grid arithmetic compiles to shifts and masks instead of integer divisions.
GRID = len(PIXEL_SAMPLES)


@numba.njit(cache=True, nogil=True)
def _rotate(points: np.ndarray, rotations: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(V, N, 3) float64: points (N, 3) times each (3, 3) rotation, less that view's offset. Compiled: a matrix
    product would start BLAS's own threads, which contend with the render pool's, and numpy broadcasting makes
    large temporaries."""
    turned = np.empty((rotations.shape[0], points.shape[0], 3))
    for view in range(rotations.shape[0]):
        for n in range(points.shape[0]):
            x, y, z = np.float64(points[n, 0]), np.float64(points[n, 1]), np.float64(points[n, 2])
            for j in range(3):
                turned[view, n, j] = (x * rotations[view, 0, j] + y * rotations[view, 1, j] + z * rotations[view, 2, j]
                                      - offsets[view, j])
    return turned


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _perspective(camera: np.ndarray, image_size: int, focal: float) -> np.ndarray:
    """(V, N, 3) float32 pixel x, pixel y and depth from camera-frame points (a point at depth 0 gets inf/nan)."""
    screen = np.empty(camera.shape, np.float32)
    half = 0.5 * image_size
    for view in range(camera.shape[0]):
        for n in range(camera.shape[1]):
            depth = -camera[view, n, 2]
            screen[view, n, 0] = half + focal * camera[view, n, 0] / depth
            screen[view, n, 1] = half - focal * camera[view, n, 1] / depth
            screen[view, n, 2] = depth
    return screen


def to_screen(vertices: np.ndarray, poses: np.ndarray, image_size: int) -> np.ndarray:
    """(V, N, 3) float32: each vertex's pixel x (right), pixel y (down) and depth in front of each camera.

    Pixel coordinates run 0..image_size over the image, so pixel (row, col) covers [col, col + 1) x [row, row + 1).
    """
    rotation, centre = np.ascontiguousarray(poses[:, :3, :3]), poses[:, :3, 3]
    camera = _rotate(vertices, rotation, np.einsum("vk,vkj->vj", centre, rotation))
    return _perspective(camera, image_size, 0.5 * image_size / math.tan(YFOV / 2))


def camera_normals(normals: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """(V, N, 3) unit normals in each camera's frame (x right, y up, z towards the camera)."""
    return _rotate(normals, np.ascontiguousarray(poses[:, :3, :3]), np.zeros((len(poses), 3))).astype(np.float32)


@numba.njit(inline="always")
def _lerp(low, high, share):
    """numpy's linear interpolation between neighbours (from the nearer end, as its percentile does)."""
    step = high - low
    return high - step * (1.0 - share) if share >= 0.5 else low + step * share


@numba.njit(nogil=True)
def _percentile(values, q):
    """numpy's default (linear) percentile q of a 1D float64 array, by partition; reorders `values`."""
    position = q / 100.0 * (values.shape[0] - 1)
    low = int(np.floor(position))
    part = np.partition(values, low)
    above = part[low + 1:].min() if low + 1 < values.shape[0] else part[low]
    return _lerp(part[low], above, position - low)


@numba.njit(cache=True, nogil=True)
def robust_extent(vertices: np.ndarray) -> tuple[np.ndarray, float]:
    """What `normalize_mesh` centres and scales by, equal to numpy's percentiles bit for bit: the midpoint of
    each axis' 1st..99th percentile range, and the 99th percentile of the distances from it (their maximum
    when that is 0). Compiled, as it runs once per mesh in the render pool's threads."""
    centre = np.empty(3)
    for axis in range(3):
        column = vertices[:, axis].copy()
        centre[axis] = (_percentile(column, 1.0) + _percentile(column, 99.0)) / 2
    distances = np.empty(vertices.shape[0])
    for n in range(vertices.shape[0]):
        x, y, z = vertices[n, 0] - centre[0], vertices[n, 1] - centre[1], vertices[n, 2] - centre[2]
        distances[n] = np.sqrt(x * x + y * y + z * z)
    radius = _percentile(distances.copy(), 99.0)
    return centre, radius if radius > 0 else distances.max()


@numba.njit(cache=True, nogil=True)
def _screen_terms(screen, grid):
    """Per vertex, once per view rather than per triangle corner: float64 pixel x and y, the inverse depth
    (-1 behind the camera), and the ceil and floor of the position on the sample grid (spacing 1 / grid)."""
    count = screen.shape[0]
    xs, ys, inverse = np.empty(count), np.empty(count), np.empty(count)
    cells = np.empty((count, 4), np.int64)  # ceil x, floor x, ceil y, floor y
    for vertex in range(count):
        x, y, w = np.float64(screen[vertex, 0]), np.float64(screen[vertex, 1]), np.float64(screen[vertex, 2])
        xs[vertex], ys[vertex] = x, y
        inverse[vertex] = 1.0 / w if w > 1e-6 else -1.0
        gx, gy = min(max(x * grid - 0.5, -2.0), 1e9), min(max(y * grid - 0.5, -2.0), 1e9)  # NaN -> 1e9: no line
        cells[vertex, 0], cells[vertex, 1] = int(np.ceil(gx)), int(np.floor(gx))
        cells[vertex, 2], cells[vertex, 3] = int(np.ceil(gy)), int(np.floor(gy))
    return xs, ys, inverse, cells


@numba.njit(inline="always")
def _edges(xs, ys, a, b, c):
    """The barycentric weights of corners a and b as affine functions of the pixel position,
    e = dx * px + dy * py + k; ok is False for a degenerate triangle."""
    xa, xb, xc, ya, yb, yc = xs[a], xs[b], xs[c], ys[a], ys[b], ys[c]
    area = (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa)
    if area == 0.0 or not np.isfinite(area):
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    scale = 1.0 / area
    dx0, dy0 = -(yc - yb) * scale, (xc - xb) * scale
    dx1, dy1 = -(ya - yc) * scale, (xa - xc) * scale
    return True, dx0, dy0, -(dx0 * xb + dy0 * yb), dx1, dy1, -(dx1 * xc + dy1 * yc)


@numba.njit(cache=True, nogil=True, fastmath=False)
def _zbuffer(screen, faces, size, samples, near, far, triangle):
    """The nearest triangle at every sample of every pixel (-1: none) into `triangle` (size, size, S) int32;
    returns the samples' depth (perspective-correct). Colours are interpolated later, once per pixel and
    triangle, so a sample that a nearer triangle overwrites costs no interpolation.

    screen: (N, 3) pixel x, pixel y, depth. The samples form a rook pattern: on the grid of spacing
    1 / S in x and y, each grid column (and row) of a pixel holds one sample. So a triangle, usually smaller
    than a pixel at these sizes, is walked along the few grid columns its bounding box spans, and on each
    only along the rows that hold that column's sample: integer steps, no test of samples it cannot hold.
    """
    depth = np.full(triangle.shape, np.inf, np.float32)
    triangle[:] = -1
    by_column = np.empty(GRID, np.int64)  # the sample on each grid column of a pixel
    row_of = np.empty(GRID, np.int64)  # each sample's grid row within its pixel
    for s in range(GRID):
        by_column[int(round(samples[s, 0] * GRID - 0.5))] = s
        row_of[s] = int(round(samples[s, 1] * GRID - 0.5))
    lines = GRID * size - 1
    xs, ys, inverse, cells = _screen_terms(screen, GRID)
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        # the grid columns and rows within the bounding box (and the image); most small triangles have none
        x0, x1 = max(min(cells[a, 0], cells[b, 0], cells[c, 0]), 0), min(max(cells[a, 1], cells[b, 1], cells[c, 1]), lines)
        if x0 > x1:
            continue
        y0, y1 = max(min(cells[a, 2], cells[b, 2], cells[c, 2]), 0), min(max(cells[a, 3], cells[b, 3], cells[c, 3]), lines)
        if y0 > y1:
            continue
        ia, ib, ic = inverse[a], inverse[b], inverse[c]
        if not (ia > 0.0 and ib > 0.0 and ic > 0.0):
            continue  # behind the camera
        ok, dx0, dy0, k0, dx1, dy1, k1 = _edges(xs, ys, a, b, c)
        if not ok:
            continue
        for line in range(x0, x1 + 1):
            col, s = line // GRID, by_column[line % GRID]
            px = col + np.float64(samples[s, 0])
            vertical = y0 + (row_of[s] - y0) % GRID  # the first grid row in range that holds sample s
            while vertical <= y1:
                row = vertical // GRID
                vertical += GRID
                py = row + np.float64(samples[s, 1])
                e0 = dx0 * px + dy0 * py + k0
                e1 = dx1 * px + dy1 * py + k1
                e2 = 1.0 - e0 - e1
                if e0 < 0.0 or e1 < 0.0 or e2 < 0.0:
                    continue
                z = 1.0 / (e0 * ia + e1 * ib + e2 * ic)
                if z < near or z > far or z >= depth[row, col, s]:
                    continue
                depth[row, col, s] = z
                triangle[row, col, s] = f
    return depth


@numba.njit(inline="always")
def _centre_weights(xs, ys, inverse, a, b, c, row, col):
    """Perspective-correct weights of corners a and b at the pixel's centre (as GL shades a fragment once per
    pixel, extrapolating the triangle's attributes when the centre lies outside it)."""
    _, dx0, dy0, k0, dx1, dy1, k1 = _edges(xs, ys, a, b, c)
    cx, cy = col + 0.5, row + 0.5
    e0, e1 = dx0 * cx + dy0 * cy + k0, dx1 * cx + dy1 * cy + k1
    c0, c1, c2 = e0 * inverse[a], e1 * inverse[b], (1.0 - e0 - e1) * inverse[c]
    return c0 / (c0 + c1 + c2), c1 / (c0 + c1 + c2)


@numba.njit(cache=True, nogil=True)
def vertex_normals(vertices, faces):
    """(N, 3) unit vertex normals: the area-weighted sum of the adjacent faces' normals (zero if none)."""
    summed = np.zeros((vertices.shape[0], 3), np.float64)
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        ux, uy, uz = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
        vx, vy, vz = vertices[c, 0] - vertices[a, 0], vertices[c, 1] - vertices[a, 1], vertices[c, 2] - vertices[a, 2]
        nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx  # length: twice the area
        for corner in (a, b, c):
            summed[corner, 0] += nx
            summed[corner, 1] += ny
            summed[corner, 2] += nz
    for n in range(summed.shape[0]):
        length = np.sqrt(summed[n, 0] ** 2 + summed[n, 1] ** 2 + summed[n, 2] ** 2)
        if length > 0:
            summed[n] /= length
    return summed


def mip_levels(texture: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A texture's mipmap chain (each level the 2x2 mean of the one above, as GL builds it), packed as one
    flat float array in [0, 1] and an (L, 3) table of (offset, height, width)."""
    level = texture.astype(np.float32) / 255.0
    parts, table, offset = [], [], 0
    while True:
        parts.append(level.ravel())
        table.append((offset, level.shape[0], level.shape[1]))
        offset += level.size
        if level.shape[0] == 1 and level.shape[1] == 1:
            break
        height, width = max(level.shape[0] // 2, 1), max(level.shape[1] // 2, 1)
        rows = level[: 2 * height] if level.shape[0] > 1 else np.concatenate([level, level])
        both = rows[:, : 2 * width] if level.shape[1] > 1 else np.concatenate([rows, rows], axis=1)
        level = both.reshape(height, 2, width, 2, 3).mean(axis=(1, 3))
    return np.concatenate(parts), np.array(table, np.int64)


@numba.njit(cache=True, nogil=True)
def _bilinear(mips, table, level, u, v, out, weight):
    """Add `weight` x the bilinear lookup (repeat wrap, v up: image row 0 is v = 1) at mip `level` to out."""
    offset, height, width = table[level, 0], table[level, 1], table[level, 2]
    x = (u - np.floor(u)) * width - 0.5
    y = (1.0 - (v - np.floor(v))) * height - 0.5
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - x0, y - y0
    for dy in range(2):
        for dx in range(2):
            share = weight * (fx if dx else 1.0 - fx) * (fy if dy else 1.0 - fy)
            start = offset + (((y0 + dy) % height) * width + (x0 + dx) % width) * 3
            for k in range(3):
                out[k] += share * mips[start + k]


@numba.njit(cache=True, nogil=True)
def _texel(mips, table, screen, uv, a, b, c, u, v, out):
    """Trilinear lookup as GL's LINEAR_MIPMAP_LINEAR: the level from the triangle's uv footprint per pixel."""
    xa, ya = screen[a, 0], screen[a, 1]
    ex, ey, fx, fy = screen[b, 0] - xa, screen[b, 1] - ya, screen[c, 0] - xa, screen[c, 1] - ya
    area = ex * fy - ey * fx
    out[:] = 0.0
    level = 0.0
    if area != 0.0:
        height, width = table[0, 1], table[0, 2]
        du1, du2 = (uv[b, 0] - uv[a, 0]) * width, (uv[c, 0] - uv[a, 0]) * width
        dv1, dv2 = (uv[b, 1] - uv[a, 1]) * height, (uv[c, 1] - uv[a, 1]) * height
        dudx, dudy = (du1 * fy - du2 * ey) / area, (du2 * ex - du1 * fx) / area
        dvdx, dvdy = (dv1 * fy - dv2 * ey) / area, (dv2 * ex - dv1 * fx) / area
        rho = max(np.sqrt(dudx * dudx + dvdx * dvdx), np.sqrt(dudy * dudy + dvdy * dvdy))
        if rho > 1.0:
            level = min(np.log2(rho), table.shape[0] - 1.0)
    low = int(np.floor(level))
    high = min(low + 1, table.shape[0] - 1)
    _bilinear(mips, table, low, u, v, out, 1.0 - (level - low))
    if level > low:
        _bilinear(mips, table, high, u, v, out, level - low)
    return out


@numba.njit(cache=True, nogil=True)
def _resolve(faces, attributes, screen, mips, table, triangle, image):
    """Average the samples' interpolated colours into uint8 pixels (uncovered samples count as black).

    attributes: (N, 3) colours in [0, 1], or (N, 2) uv when there is a texture (`mips`, `table` from
    `mip_levels`; an empty table means colours). A triangle's colour at a pixel is the same for each of its
    samples there, so it is computed once per pixel and triangle.
    """
    size, count = triangle.shape[0], triangle.shape[2]
    channels = attributes.shape[1]
    textured = table.shape[0] > 0
    xs, ys, inverse, _ = _screen_terms(screen, count)
    value = np.zeros(channels, np.float32)
    colour = np.zeros(3, np.float32)
    total = np.zeros(3, np.float32)
    for row in range(size):
        for col in range(size):
            total[:] = 0.0
            previous = -1
            for s in range(count):
                f = triangle[row, col, s]
                if f < 0:
                    continue
                if f != previous:
                    previous = f
                    a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
                    w0, w1 = _centre_weights(xs, ys, inverse, a, b, c, row, col)
                    w0, w1 = np.float32(w0), np.float32(w1)
                    w2 = 1.0 - w0 - w1
                    for k in range(channels):
                        value[k] = w0 * attributes[a, k] + w1 * attributes[b, k] + w2 * attributes[c, k]
                    if textured:
                        _texel(mips, table, screen, attributes, a, b, c, value[0], value[1], colour)
                    else:
                        colour[:] = value[:3]
                    for k in range(3):
                        colour[k] = min(max(colour[k], 0.0), 1.0)
                for k in range(3):
                    total[k] += colour[k]
            for k in range(3):
                image[row, col, k] = np.uint8(np.floor(total[k] / count * 255.0 + 0.5))


def _draw_view(mesh: DrawableMesh, screen: np.ndarray, colors: np.ndarray | None, mips: tuple | None, size: int,
               depth_only: bool) -> np.ndarray:
    """One (mesh, view): a (size, size, 3) uint8 image, or a (size, size) linear depth image."""
    samples = PIXEL_SAMPLES
    triangle = np.empty((size, size, len(samples)), np.int32)
    depth = _zbuffer(screen, mesh.faces, size, samples, Z_NEAR, Z_FAR, triangle)
    if depth_only:
        return np.where(triangle[..., DEPTH_SAMPLE] >= 0, depth[..., DEPTH_SAMPLE], 0.0).astype(np.float32)
    image = np.empty((size, size, 3), np.uint8)
    if colors is None:
        _resolve(mesh.faces, mesh.uv, screen, *mips, triangle, image)
    else:
        _resolve(mesh.faces, colors, screen, np.zeros(0, np.float32), np.zeros((0, 3), np.int64), triangle, image)
    return image


def _draw_mesh(mesh: DrawableMesh, size: int, depth_only: bool) -> np.ndarray:
    """All views of one mesh (one job of the pool: its projection and texture pyramid are made in the same
    thread as its views, not serially before them)."""
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int32)
    uv = None if mesh.uv is None else np.ascontiguousarray(mesh.uv, dtype=np.float32)
    mesh = DrawableMesh(mesh.vertices, faces, mesh.poses, mesh.colors, uv, mesh.texture)
    screen = to_screen(mesh.vertices, mesh.poses, size)
    mips = mip_levels(mesh.texture) if mesh.colors is None and not depth_only else None
    views = []
    for view in range(len(mesh.poses)):
        colors = None if mesh.colors is None else np.ascontiguousarray(mesh.colors[view], dtype=np.float32)
        views.append(_draw_view(mesh, np.ascontiguousarray(screen[view]), colors, mips, size, depth_only))
    return np.stack(views)


def _single_views(mesh: DrawableMesh) -> list[DrawableMesh]:
    """The mesh once per view, each with only that view's camera and colours."""
    return [dataclasses.replace(mesh, poses=mesh.poses[view:view + 1],
                                colors=None if mesh.colors is None else mesh.colors[view:view + 1])
            for view in range(len(mesh.poses))]


def draw_numba(meshes: Sequence[DrawableMesh], image_size: int, depth_only: bool) -> np.ndarray:
    """(M, V, H, W, 3) uint8 images, or (M, V, H, W) float32 linear depth (0: background).

    A job of the pool is a whole mesh (its projection and texture pyramid made once); with fewer meshes than
    cores, a single view, so that one mesh's views (a prediction's) are drawn side by side."""
    views = len(meshes[0].poses) if meshes else 0
    shape = (len(meshes), views, image_size, image_size) + (() if depth_only else (3,))
    if not views:
        return np.zeros(shape, np.float32 if depth_only else np.uint8)
    if len(meshes) >= (os.cpu_count() or 1):
        return np.stack(parallel_map(lambda mesh: _draw_mesh(mesh, image_size, depth_only), list(meshes)))
    jobs = [single for mesh in meshes for single in _single_views(mesh)]
    return np.concatenate(parallel_map(lambda job: _draw_mesh(job, image_size, depth_only), jobs)).reshape(shape)
