"""The numba rasteriser on a CUDA device: `draw_numba`'s pictures, bit for bit, for a whole batch at once.

Why: on a GPU the per-call overhead the CPU backend avoids is gone too, so one call draws every (mesh, view) of a
batch with two kernel launches, a z-buffer over all their triangles and a resolve over all their pixels, and
leaves the pictures in a torch tensor on the device, where the model reads them. The per-vertex work (projection,
the colours `rendering_affectvlm` paints) is done on the host by the functions the CPU backend uses.

The z-buffer runs one thread per triangle, so the CPU's "nearest triangle in drawing order" becomes an atomic
minimum of a 64-bit key per sample: the float32 depth the CPU stores above, and below it a tie-break that picks
the triangle the CPU's sequential `z >= depth` test keeps among those of equal float32 depth (see `_key`).

Why the arithmetic goes through `_mul` and `_add`: NVVM fuses `a * b + c` into one fused multiply-add, rounding
once where the CPU rounds twice, which moves coverage at triangle edges and tips rounding at half a grey level.
libdevice's explicitly rounded operations are never fused, so every product that feeds a sum uses them and the
kernels compute what the CPU kernels compute, operation for operation and in the same float widths. The one
function not matched bit for bit is log2 (a textured triangle's mip level): libdevice's is within an ulp of
glibc's, which moves a colour by about 1e-16.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import numpy as np
import torch
from numba import cuda
from numba.core import config

from .drawing_affectvlm import PIXEL_SAMPLES, Z_FAR, Z_NEAR, DrawableMesh
from .rasterizer_affectvlm import DEPTH_SAMPLE, GRID, _screen_terms, mip_levels, to_screen

SIMULATED = config.ENABLE_CUDASIM  # numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), fixed when numba is imported
BLOCK = 128  # threads per block
EMPTY = 0xFFFF_FFFF_FFFF_FFFF  # the key of a sample no triangle covers
TIE = 1 << 31  # the tie-break half of a key: below TIE for a depth rounded up to float32, TIE + index otherwise

# Exactly rounded float64 and float32 multiply and add (never fused), floor, and float32 <-> int32 bit casts.
if SIMULATED:  # for the simulator in tests, which runs the kernels as Python and has no libdevice: numpy stand-ins
    # that take libdevice's float widths (numpy alone would keep float32 where numba widens to float64)
    def _mul(a, b):
        return np.float64(a) * np.float64(b)

    def _add(a, b):
        return np.float64(a) + np.float64(b)

    def _mulf(a, b):
        return np.float32(a) * np.float32(b)

    def _addf(a, b):
        return np.float32(a) + np.float32(b)

    def _floorf(x):
        return np.floor(np.float32(x))

    def _float_bits(x):
        return np.int32(np.float32(x).view(np.int32))

    def _bits_float(bits):
        return np.int32(bits).view(np.float32)
else:
    from numba.cuda.libdevice import dadd_rn as _add
    from numba.cuda.libdevice import dmul_rn as _mul
    from numba.cuda.libdevice import fadd_rn as _addf
    from numba.cuda.libdevice import float_as_int as _float_bits
    from numba.cuda.libdevice import floorf as _floorf
    from numba.cuda.libdevice import fmul_rn as _mulf
    from numba.cuda.libdevice import int_as_float as _bits_float


@cuda.jit(device=True)
def _min(a, b):
    """Python's (and numba's CPU) min of two numbers: numba's CUDA target cannot type the builtin's *args form."""
    return b if b < a else a


@cuda.jit(device=True)
def _max(a, b):
    """Python's (and numba's CPU) max of two numbers."""
    return b if b > a else a


@cuda.jit(device=True)
def _edges(xs, ys, a, b, c):
    """The CPU's `_edges`: corners a's and b's barycentric weights as e = dx * px + dy * py + k (ok False for a
    degenerate triangle)."""
    xa, xb, xc, ya, yb, yc = xs[a], xs[b], xs[c], ys[a], ys[b], ys[c]
    area = _add(_mul(xb - xa, yc - ya), -_mul(yb - ya, xc - xa))
    if area == 0.0 or not math.isfinite(area):
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    scale = 1.0 / area
    dx0, dy0 = -(yc - yb) * scale, (xc - xb) * scale
    dx1, dy1 = -(ya - yc) * scale, (xa - xc) * scale
    return True, dx0, dy0, -_add(_mul(dx0, xb), _mul(dy0, yb)), dx1, dy1, -_add(_mul(dx1, xc), _mul(dy1, yc))


@cuda.jit(device=True)
def _key(z, triangle):
    """The z-buffer key of a triangle at depth z (float64): its float32 depth's bits (positive floats order like
    their bits) above a tie-break that reproduces the CPU's sequential test among triangles of equal float32 depth.

    On the CPU the first of them is stored, and a later one replaces it only when its float64 depth lies below
    the stored float32 one, that is when it was rounded up. So the winner is the last triangle rounded up, or, if
    none was, the first: rounded-up triangles get TIE - 1 - index (a higher index sorts first), the others
    TIE + index (a lower index sorts first, after every rounded-up one).
    """
    depth = np.float32(z)
    order = np.uint64(_float_bits(depth)) << np.uint64(32)
    if z < np.float64(depth):
        return order | np.uint64(TIE - 1 - triangle)
    return order | np.uint64(TIE + triangle)


@cuda.jit(device=True)
def _triangle_of(key):
    """The triangle index in a (non-empty) key's tie-break half."""
    low = np.int64(key & np.uint64(0xFFFF_FFFF))
    return low - TIE if low >= TIE else TIE - 1 - low


@cuda.jit(device=True)
def _job_of(starts, index):
    """The job j (one mesh in one view) with starts[j] <= index < starts[j + 1]: a binary search."""
    low, high = 0, starts.shape[0] - 2
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= index:
            low = middle
        else:
            high = middle - 1
    return low


@cuda.jit(device=True)
def _cover(keys, job, triangle, box, edges, inverses, pattern):
    """Offer the triangle's key at every sample in box (grid columns x0..x1, rows y0..y1) that it covers within
    the clip range, walking the samples as the CPU's `_zbuffer` does. inverses: the corners' inverse depths;
    pattern: the sample on each grid column of a pixel, each sample's grid row, the sample positions."""
    x0, x1, y0, y1 = box
    dx0, dy0, k0, dx1, dy1, k1 = edges
    ia, ib, ic = inverses
    by_column, row_of, samples = pattern
    for line in range(x0, x1 + 1):
        col, s = line // GRID, by_column[line % GRID]
        px = col + np.float64(samples[s, 0])
        vertical = y0 + (row_of[s] - y0) % GRID  # the first grid row in range that holds sample s
        while vertical <= y1:
            row = vertical // GRID
            vertical += GRID
            py = row + np.float64(samples[s, 1])
            e0 = _add(_add(_mul(dx0, px), _mul(dy0, py)), k0)
            e1 = _add(_add(_mul(dx1, px), _mul(dy1, py)), k1)
            e2 = 1.0 - e0 - e1
            if e0 < 0.0 or e1 < 0.0 or e2 < 0.0:
                continue
            z = 1.0 / _add(_add(_mul(e0, ia), _mul(e1, ib)), _mul(e2, ic))
            if z < Z_NEAR or z > Z_FAR:
                continue
            cuda.atomic.min(keys, (job, row, col, s), _key(z, triangle))


@cuda.jit(cache=True)
def _zbuffer_kernel(xs, ys, inverse, cells, faces, jobs, starts, by_column, row_of, samples, keys):
    """One thread per (mesh, view, triangle): its key at each sample it covers, kept where it is the least.

    xs, ys, inverse, cells: `_screen_terms` of every job's vertices; faces: every mesh's triangles, numbered
    within the mesh; jobs: per job its first face row and first vertex; starts: the first thread of each job and
    the total; keys: (jobs, size, size, GRID) uint64, EMPTY before the call.
    """
    thread = cuda.grid(1)
    if thread >= starts[starts.shape[0] - 1]:
        return
    job = _job_of(starts, thread)
    triangle = thread - starts[job]
    face, base = jobs[job, 0] + triangle, jobs[job, 1]
    a, b, c = base + faces[face, 0], base + faces[face, 1], base + faces[face, 2]
    lines = GRID * keys.shape[1] - 1
    x0 = _max(_min(_min(cells[a, 0], cells[b, 0]), cells[c, 0]), 0)
    x1 = _min(_max(_max(cells[a, 1], cells[b, 1]), cells[c, 1]), lines)
    y0 = _max(_min(_min(cells[a, 2], cells[b, 2]), cells[c, 2]), 0)
    y1 = _min(_max(_max(cells[a, 3], cells[b, 3]), cells[c, 3]), lines)
    ia, ib, ic = inverse[a], inverse[b], inverse[c]
    if x0 > x1 or y0 > y1 or not (ia > 0.0 and ib > 0.0 and ic > 0.0):
        return  # outside the image or behind the camera
    ok, dx0, dy0, k0, dx1, dy1, k1 = _edges(xs, ys, a, b, c)
    if ok:
        _cover(keys, job, triangle, (x0, x1, y0, y1), (dx0, dy0, k0, dx1, dy1, k1), (ia, ib, ic),
               (by_column, row_of, samples))


@cuda.jit(device=True)
def _centre_weights(xs, ys, inverse, corners, row, col):
    """The CPU's `_centre_weights`: perspective-correct weights of corners a and b at the pixel's centre."""
    a, b, c = corners
    _, dx0, dy0, k0, dx1, dy1, k1 = _edges(xs, ys, a, b, c)
    cx, cy = col + 0.5, row + 0.5
    e0 = _add(_add(_mul(dx0, cx), _mul(dy0, cy)), k0)
    e1 = _add(_add(_mul(dx1, cx), _mul(dy1, cy)), k1)
    c0, c1, c2 = _mul(e0, inverse[a]), _mul(e1, inverse[b]), _mul(1.0 - e0 - e1, inverse[c])
    return c0 / (c0 + c1 + c2), c1 / (c0 + c1 + c2)


@cuda.jit(device=True)
def _bilinear(mips, table, level, u, v, out, weight):
    """The CPU's `_bilinear`: add weight x the lookup (repeat wrap, v up) at mip `level` to out."""
    offset, height, width = table[level, 0], table[level, 1], table[level, 2]
    x = _add(_mul(np.float64(u - _floorf(u)), width), -0.5)
    y = _add(_mul(1.0 - np.float64(v - _floorf(v)), height), -0.5)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    fx, fy = x - x0, y - y0
    for dy in range(2):
        for dx in range(2):
            share = weight * (fx if dx else 1.0 - fx) * (fy if dy else 1.0 - fy)
            start = offset + (((y0 + dy) % height) * width + (x0 + dx) % width) * 3
            for k in range(3):
                out[k] = _add(out[k], _mul(share, mips[start + k]))


@cuda.jit(device=True)
def _texel(mips, table, screen, uv, corners, out):
    """The CPU's `_texel`: the trilinear lookup at the uv in out[0], out[1], written over out; the mip level
    from the triangle's uv footprint per pixel."""
    a, b, c = corners
    u, v = out[0], out[1]
    xa, ya = screen[a, 0], screen[a, 1]
    ex, ey, fx, fy = screen[b, 0] - xa, screen[b, 1] - ya, screen[c, 0] - xa, screen[c, 1] - ya
    area = _addf(_mulf(ex, fy), -_mulf(ey, fx))
    level = 0.0
    if area != 0.0:
        height, width = table[0, 1], table[0, 2]
        du1, du2 = np.float64(uv[b, 0] - uv[a, 0]) * width, np.float64(uv[c, 0] - uv[a, 0]) * width
        dv1, dv2 = np.float64(uv[b, 1] - uv[a, 1]) * height, np.float64(uv[c, 1] - uv[a, 1]) * height
        dudx, dudy = _add(_mul(du1, fy), -_mul(du2, ey)) / area, _add(_mul(du2, ex), -_mul(du1, fx)) / area
        dvdx, dvdy = _add(_mul(dv1, fy), -_mul(dv2, ey)) / area, _add(_mul(dv2, ex), -_mul(dv1, fx)) / area
        rho = _max(math.sqrt(_add(_mul(dudx, dudx), _mul(dvdx, dvdx))),
                  math.sqrt(_add(_mul(dudy, dudy), _mul(dvdy, dvdy))))
        if rho > 1.0:
            level = _min(math.log2(rho), table.shape[0] - 1.0)
    for k in range(3):
        out[k] = 0.0
    low = int(math.floor(level))
    high = _min(low + 1, table.shape[0] - 1)
    _bilinear(mips, table, low, u, v, out, 1.0 - (level - low))
    if level > low:
        _bilinear(mips, table, high, u, v, out, level - low)


@cuda.jit(device=True)
def _shade(batch, job, triangle, row, col, colour):
    """The CPU's colour of a triangle at a pixel, into colour: its colours (or uv, then the texture) interpolated
    perspective-correctly at the pixel's centre, in the CPU's float widths, clipped to [0, 1]."""
    faces, jobs, screen, xs, ys, inverse, attributes, mips, levels = batch
    face, base = jobs[job, 0] + triangle, jobs[job, 1]
    a, b, c = base + faces[face, 0], base + faces[face, 1], base + faces[face, 2]
    w0, w1 = _centre_weights(xs, ys, inverse, (a, b, c), row, col)
    w0, w1 = np.float32(w0), np.float32(w1)
    w2 = 1.0 - np.float64(w0) - np.float64(w1)
    for k in range(3):
        colour[k] = _add(_addf(_mulf(w0, attributes[a, k]), _mulf(w1, attributes[b, k])), _mul(w2, attributes[c, k]))
    if jobs[job, 3] > 0:
        _texel(mips, levels[jobs[job, 2]:jobs[job, 2] + jobs[job, 3]], screen, attributes, (a, b, c), colour)
    for k in range(3):
        colour[k] = _min(_max(colour[k], 0.0), 1.0)


@cuda.jit(device=True)
def _pixel_of(thread, jobs, size):
    """The (job, row, col) a one-thread-per-pixel kernel's thread draws; job -1 for the threads past the end."""
    if thread >= jobs * size * size:
        return -1, 0, 0
    pixel = thread % (size * size)
    return thread // (size * size), pixel // size, pixel % size


@cuda.jit(cache=True)
def _resolve_kernel(keys, faces, jobs, screen, xs, ys, inverse, attributes, mips, levels, image):
    """One thread per (mesh, view, pixel): the CPU's `_resolve`, the mean of the samples' colours (a triangle's
    once per pixel, uncovered samples black) as uint8.

    jobs: per job its first face row, first vertex, first mip level and number of levels (0: colours);
    attributes: colours, or uv in columns 0 and 1; mips, levels: `mip_levels` of every texture, one after another;
    image: (jobs, size, size, 3) uint8.
    """
    job, row, col = _pixel_of(cuda.grid(1), image.shape[0], image.shape[1])
    if job < 0:
        return
    batch = (faces, jobs, screen, xs, ys, inverse, attributes, mips, levels)
    colour = cuda.local.array(3, np.float32)
    total = cuda.local.array(3, np.float32)
    for k in range(3):
        total[k] = 0.0
    previous = -1
    for s in range(GRID):
        key = keys[job, row, col, s]
        if key == EMPTY:
            continue
        triangle = _triangle_of(key)
        if triangle != previous:
            previous = triangle
            _shade(batch, job, triangle, row, col, colour)
        for k in range(3):
            total[k] += colour[k]
    for k in range(3):
        image[job, row, col, k] = np.uint8(math.floor(_add(_mul(np.float64(total[k]) / GRID, 255.0), 0.5)))


@cuda.jit(cache=True)
def _depth_kernel(keys, depth):
    """One thread per (mesh, view, pixel): sample DEPTH_SAMPLE's float32 depth (its key's upper half), 0 if empty."""
    job, row, col = _pixel_of(cuda.grid(1), depth.shape[0], depth.shape[1])
    if job < 0:
        return
    key = keys[job, row, col, DEPTH_SAMPLE]
    depth[job, row, col] = 0.0 if key == EMPTY else _bits_float(np.int32(key >> np.uint64(32)))


def _geometry(meshes: Sequence[DrawableMesh], size: int) -> dict[str, np.ndarray]:
    """Every (mesh, view) -- a job -- laid end to end: projected vertices, their `_screen_terms`, the meshes'
    triangles, and per job (first face row, first vertex) and its first z-buffer thread."""
    screens, faces, jobs, starts = [], [], [], [0]
    rows = vertices = 0
    for mesh in meshes:
        screen = to_screen(mesh.vertices, mesh.poses, size)
        triangles = np.ascontiguousarray(mesh.faces, dtype=np.int32)
        for _ in range(len(screen)):
            jobs.append((rows, vertices))
            starts.append(starts[-1] + len(triangles))
            vertices += screen.shape[1]
        screens.append(screen.reshape(-1, 3))
        faces.append(triangles.reshape(-1, 3))
        rows += len(triangles)
    screen = np.concatenate(screens)
    xs, ys, inverse, cells = _screen_terms(screen, GRID)
    return {"screen": screen, "xs": xs, "ys": ys, "inverse": inverse, "cells": cells,
            "faces": np.concatenate(faces), "jobs": np.array(jobs, np.int64), "starts": np.array(starts, np.int64)}


def _appearance(meshes: Sequence[DrawableMesh]) -> dict[str, np.ndarray]:
    """What the resolve paints, laid out like `_geometry`'s vertices: colours, or uv in columns 0 and 1 with the
    texture's mip levels; per job (first mip level, levels), (0, 0) for colours."""
    attributes, mips, levels, ranges = [], [], [], []
    offset = level_count = 0
    for mesh in meshes:
        views = len(mesh.poses)
        if mesh.colors is None:
            flat, table = mip_levels(mesh.texture)
            uv = np.zeros((len(mesh.vertices), 3), np.float32)
            uv[:, :2] = mesh.uv
            attributes.append(np.tile(uv, (views, 1)))
            mips.append(flat)
            levels.append(table + [offset, 0, 0])
            ranges += [(level_count, len(table))] * views
            offset, level_count = offset + len(flat), level_count + len(table)
        else:
            attributes.append(np.asarray(mesh.colors, np.float32).reshape(-1, 3))
            ranges += [(0, 0)] * views
    return {"attributes": np.concatenate(attributes), "ranges": np.array(ranges, np.int64).reshape(-1, 2),
            "mips": np.concatenate(mips or [np.zeros(0, np.float32)]),
            "levels": np.concatenate(levels or [np.zeros((0, 3), np.int64)])}


def _target(device: torch.device | str) -> torch.device:
    """The device to draw on, or an error that names what is missing."""
    device = torch.device(device)
    if SIMULATED and device.type == "cpu":
        return device  # for the simulator in tests: the kernels run as Python on CPU tensors' numpy views
    if device.type != "cuda":
        raise ValueError(f"draw_cuda draws on a CUDA device, not {device.type!r}: a CPU tensor is only for numba's "
                         "CUDA simulator (NUMBA_ENABLE_CUDASIM=1); on a CPU, draw_numba draws these pictures")
    if SIMULATED:
        raise RuntimeError("NUMBA_ENABLE_CUDASIM is set: numba's CUDA simulator draws only into CPU tensors "
                           "(device='cpu')")
    if not torch.cuda.is_available():
        raise RuntimeError("draw_cuda needs a CUDA device, and torch finds none (torch.cuda.is_available() is False)")
    if not cuda.is_available():
        raise RuntimeError("draw_cuda needs numba's CUDA target, and numba cannot use the CUDA driver here")
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        raise RuntimeError("numba cannot find libNVVM to compile its CUDA kernels: install a CUDA toolkit "
                           "or set CUDA_HOME to one (e.g. site-packages/nvidia/cuda_nvcc of nvidia-cuda-nvcc-cu12)")
    return device if device.index is not None else torch.device("cuda", torch.cuda.current_device())


def _upload(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """`array` as a tensor on `device`; an empty one gets one zero row, as numba takes no zero-size device array."""
    if not array.size:
        array = np.zeros((1, *array.shape[1:]), array.dtype)
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _kernel_array(tensor: torch.Tensor, dtype: np.dtype | None = None):
    """What a kernel takes for `tensor`, sharing its memory: a numba device array, or, on the CPU (for the
    simulator in tests), a numpy view. No stream sync: the kernels run on torch's stream."""
    array = tensor.numpy() if tensor.device.type == "cpu" else cuda.as_cuda_array(tensor, sync=False)
    return array if dtype is None else array.view(dtype)


def _launch(kernel, threads: int, stream, *arrays) -> None:
    """Run `kernel` on `threads` threads (none: nothing to do)."""
    if threads:
        kernel[(threads + BLOCK - 1) // BLOCK, BLOCK, stream](*arrays)


def _sample_pattern() -> dict[str, np.ndarray]:
    """`PIXEL_SAMPLES` as the z-buffer walks them (as `_zbuffer` does): the sample on each grid column of a pixel,
    each sample's grid row, and the positions."""
    by_column, row_of = np.empty(GRID, np.int64), np.empty(GRID, np.int64)
    by_column[np.rint(PIXEL_SAMPLES[:, 0] * GRID - 0.5).astype(np.int64)] = np.arange(GRID)
    row_of[:] = np.rint(PIXEL_SAMPLES[:, 1] * GRID - 0.5)
    return {"by_column": by_column, "row_of": row_of, "samples": PIXEL_SAMPLES}


def _upload_batch(meshes: Sequence[DrawableMesh], size: int, depth_only: bool,
                  device: torch.device) -> dict[str, torch.Tensor]:
    """The batch's flat arrays on the device, each once, under the names the kernels' parameters have."""
    arrays = {**_geometry(meshes, size), **_sample_pattern()}
    if not depth_only:
        appearance = _appearance(meshes)
        arrays["jobs"] = np.concatenate([arrays["jobs"], appearance.pop("ranges")], axis=1)
        arrays.update(appearance)
    return {name: _upload(array, device) for name, array in arrays.items()}


def _draw(meshes: Sequence[DrawableMesh], size: int, depth_only: bool, device: torch.device,
          out: torch.Tensor) -> None:
    """Fill the batch's sample keys with the z-buffer kernel, then resolve them into `out` (jobs first)."""
    uploaded = _upload_batch(meshes, size, depth_only, device)
    keys = torch.full((len(uploaded["jobs"]), size, size, GRID), -1, dtype=torch.int64, device=device)  # EMPTY
    stream = 0 if device.type == "cpu" else cuda.external_stream(torch.cuda.current_stream(device).cuda_stream)
    view = {name: _kernel_array(tensor) for name, tensor in uploaded.items()}
    view["keys"] = _kernel_array(keys, np.uint64)
    triangles = sum(len(mesh.faces) * len(mesh.poses) for mesh in meshes)  # on the host: no device sync
    _launch(_zbuffer_kernel, triangles, stream, *(view[name] for name in (
        "xs", "ys", "inverse", "cells", "faces", "jobs", "starts", "by_column", "row_of", "samples", "keys")))
    target = _kernel_array(out.view(-1, size, size, *out.shape[4:]))
    if depth_only:
        _launch(_depth_kernel, out.numel(), stream, view["keys"], target)
    else:
        _launch(_resolve_kernel, out.numel() // 3, stream, *(view[name] for name in (
            "keys", "faces", "jobs", "screen", "xs", "ys", "inverse", "attributes", "mips", "levels")), target)


def draw_cuda(meshes: Sequence[DrawableMesh], image_size: int, depth_only: bool,
              device: torch.device | str | None = None) -> torch.Tensor:
    """`draw_numba`'s pictures as a tensor on a CUDA device (default: torch's current one; under numba's CUDA
    simulator, the CPU): (M, V, H, W, 3) uint8 images, or (M, V, H, W) float32 linear depth (0: background)."""
    device = _target(device if device is not None else "cpu" if SIMULATED else "cuda")
    views = len(meshes[0].poses) if meshes else 0
    if any(len(mesh.poses) != views for mesh in meshes):
        raise ValueError("draw_cuda: every mesh needs the same number of views")
    shape = (len(meshes), views, image_size, image_size) + (() if depth_only else (3,))
    out = torch.zeros(shape, dtype=torch.float32 if depth_only else torch.uint8, device=device)
    if out.numel():
        context = contextlib.nullcontext() if device.type == "cpu" else cuda.gpus[device.index]
        with context:
            _draw(meshes, image_size, depth_only, device, out)
    return out
