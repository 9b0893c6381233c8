"""draw_cuda, the numba rasteriser's CUDA kernels, draws draw_numba's pictures bit for bit: under numba's CUDA
simulator on any machine, and on a real GPU where torch finds one.

The simulator has to be switched on before numba is imported, and this process has imported it already, so that
comparison runs this file as a script in a fresh process (`python tests/test_rendering_cuda.py` with
NUMBA_ENABLE_CUDASIM=1), which prints its measurements as one line of JSON.
"""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from affectvlm.bundled import EXAMPLE_FACE, EXAMPLES
from affectvlm.model.cuda_rasterizer_affectvlm import draw_cuda
from affectvlm.model.drawing_affectvlm import ViewSpec, camera_poses
from affectvlm.model.meshes_affectvlm import FaceMesh, load_mesh
from affectvlm.model.processing_affectvlm import prepare_face
from affectvlm.model.rasterizer_affectvlm import draw_numba
from affectvlm.model.rendering_affectvlm import normalize_mesh, render_batch, render_on_backend, view_colors
from affectvlm.training.augment import ViewAugmentation
from affectvlm.training.config import TrainConfig
from affectvlm.training.on_the_fly import CameraJitter, RenderingCollator, settings_for_device
from affectvlm.training.preparation import _train_collator

ROOT = Path(__file__).resolve().parents[1]
MODES = ("normals", "shaded", "depth", "texture")
VIEWS = [ViewSpec("front"), ViewSpec("left", 30.0), ViewSpec("above", 20.0, 15.0, 10.0),
         ViewSpec("below", -25.0, -20.0, -30.0)]
SIMULATED_SIZE = 16  # the simulator runs each CUDA thread as Python: a few hundred triangles, 16 px


def textured(mesh: FaceMesh, seed: int) -> FaceMesh:
    """The mesh with uv spanning its x, y extent and a random 16 px texture (each mip level differs)."""
    xy = mesh.vertices[:, :2]
    uv = ((xy - xy.min(0)) / np.ptp(xy, axis=0)).astype(np.float32)
    texture = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return dataclasses.replace(mesh, uv=uv, texture=Image.fromarray(texture))


def nose_patch(mesh: FaceMesh, triangles: int) -> FaceMesh:
    """About `triangles` triangles around the nose tip of a normalised face, normalised again to fill the view."""
    tip = mesh.vertices[np.argmax(mesh.vertices[:, 2])]
    distance = np.linalg.norm(mesh.vertices - tip, axis=1)
    return normalize_mesh(mesh.submesh(distance <= np.sort(distance)[triangles // 2]))


def layered(mesh: FaceMesh, seed: int) -> FaceMesh:
    """Three coincident copies of the mesh in random vertex colours: an exact duplicate (equal depths: the lower
    triangle index must win) and one scaled by 1 + 2^-22 (depths a float32 step or so apart, often equal once
    rounded: the CPU's sequential test must be reproduced, not just the lowest index)."""
    count = len(mesh.vertices)
    vertices = np.concatenate([mesh.vertices, mesh.vertices, mesh.vertices * np.float32(1 + 2.0**-22)])
    faces = np.concatenate([mesh.faces, mesh.faces + count, mesh.faces + 2 * count])
    colours = np.random.default_rng(seed).integers(0, 256, (3 * count, 3), dtype=np.uint8)
    return FaceMesh(vertices, faces, vertex_colors=colours, source="layered")


def compare(meshes: list[FaceMesh], size: int, device: str) -> dict[str, list]:
    """Per mode, all meshes in one call: [pixels that differ, largest difference] between draw_cuda's and
    draw_numba's pictures (for depth the largest absolute difference, and the pixels that differ at all)."""
    found = {}
    poses = camera_poses(VIEWS)
    for mode in MODES:
        drawables = [view_colors(mesh, mode, poses) for mesh in meshes]
        drawn = draw_cuda(drawables, size, mode == "depth", device=device)
        assert drawn.device.type == torch.device(device).type
        drawn = drawn.cpu().numpy()
        expected = draw_numba(drawables, size, mode == "depth")
        assert drawn.shape == expected.shape and drawn.dtype == expected.dtype
        difference = np.abs(drawn.astype(np.float64) - expected.astype(np.float64))
        differing = difference > 0 if mode == "depth" else (difference > 0).any(axis=-1)
        found[mode] = [int(differing.sum()), float(difference.max())]
    return found


def simulated_comparison() -> dict[str, list]:
    """What the simulator test measures: a textured nose patch, a mesh without triangles (an empty job between
    others) and the patch layered, drawn in one batch (in texture mode: a texture beside vertex colours)."""
    patch = nose_patch(normalize_mesh(load_mesh(EXAMPLE_FACE)), 300)
    grey = np.full((len(patch.vertices), 3), 128, np.uint8)
    faceless = FaceMesh(patch.vertices, np.zeros((0, 3), np.int64), vertex_colors=grey, source="no triangles")
    found = compare([textured(patch, 0), faceless, layered(patch, 1)], SIMULATED_SIZE, "cpu")
    # render_batch's tensor path: the "cuda" backend's tensor (CPU under the simulator) holds the default's array
    meshes = [textured(patch, 2), layered(patch, 3)]
    found["render_batch"] = [mode for mode in MODES if not np.array_equal(
        render_on_backend(meshes, VIEWS, mode, SIMULATED_SIZE, backend="cuda").numpy(),
        render_batch(meshes, VIEWS, mode, SIMULATED_SIZE, backend="numba"))]
    return found


def test_the_simulated_kernels_draw_the_cpu_pictures():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    result = subprocess.run([sys.executable, __file__], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured == {**{mode: [0, 0.0] for mode in MODES}, "render_batch": []}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_without_a_gpu_draw_cuda_says_so():
    drawable = view_colors(nose_patch(normalize_mesh(load_mesh(EXAMPLE_FACE)), 50), "shaded", camera_poses(VIEWS))
    with pytest.raises(RuntimeError, match="CUDA device"):
        draw_cuda([drawable], 8, False)
    with pytest.raises(ValueError, match="simulator"):
        draw_cuda([drawable], 8, False, device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_the_example_faces_are_drawn_as_on_the_cpu():
    """The bundled faces at 96 px, and the layered patch, whose ties the GPU's atomics meet in a real race."""
    paths = sorted(EXAMPLES.glob("*.ply"))
    faces = [textured(normalize_mesh(load_mesh(path)), seed) for seed, path in enumerate(paths)]
    faces.append(layered(nose_patch(normalize_mesh(load_mesh(EXAMPLE_FACE)), 300), 1))
    measured = compare(faces, 96, "cuda")
    assert {**measured, "texture": [0, 0.0]} == {mode: [0, 0.0] for mode in MODES}
    # bit for bit but for libdevice's log2 (a textured pixel's mip level), within an ulp of glibc's: that moves a
    # colour by about 1e-16, which tips its rounding to a grey level in about one pixel in 1e12
    differing, largest = measured["texture"]
    assert differing <= 2 and largest <= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_a_processor_set_to_the_cuda_backend_says_what_is_missing(tiny):
    _, processor = tiny
    processor.render_backend = "cuda"
    with pytest.raises(RuntimeError, match="CUDA device"):
        processor(meshes=str(EXAMPLE_FACE))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_the_cuda_backend_renders_as_the_default_one():
    faces = [load_mesh(path) for path in sorted(EXAMPLES.glob("*.ply"))]
    for mode in MODES:
        on_gpu = render_on_backend(faces, VIEWS, mode, 96, backend="cuda")
        assert on_gpu.device.type == "cuda"
        assert np.array_equal(on_gpu.cpu().numpy(), render_batch(faces, VIEWS, mode, 96, backend="numba")), mode


def test_on_the_fly_training_on_a_gpu_renders_with_the_cuda_backend(tiny):
    _, processor = tiny
    assert settings_for_device(processor.render_settings, "cuda:1").backend == "cuda"
    assert settings_for_device(processor.render_settings, "cpu") == processor.render_settings
    # forked DataLoader workers cannot use CUDA: with workers, faces are drawn on their CPUs
    config = TrainConfig(data_dir="unused", render_on_the_fly=True, dataloader_workers=2)
    collate = _train_collator(config, processor, SimpleNamespace(cached=SimpleNamespace(augmentation=None)), "cuda")
    assert collate.settings.backend == processor.render_settings.backend != "cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_on_the_fly_training_views_are_drawn_and_kept_there(tiny):
    _, processor = tiny
    alignment = processor.render_settings.alignment
    items = [{"prepared_face": prepare_face(load_mesh(path), alignment), "label": 0, "metadata": {}, "seed": seed}
             for seed, path in enumerate(sorted(EXAMPLES.glob("*.ply"))[:4])]
    batches = {}
    for device in ("cpu", "cuda"):
        collate = RenderingCollator(processor, CameraJitter(10.0, 5.0, 5.0), ViewAugmentation(), device=device)
        batches[device] = collate([dict(item) for item in items])["pixel_values"]
    assert batches["cuda"].device.type == "cuda"
    # the same pictures; only the float warp (grid_sample) may round differently on the GPU
    assert torch.allclose(batches["cuda"].cpu(), batches["cpu"], atol=1e-4)


if __name__ == "__main__":  # the simulator's side of test_the_simulated_kernels_draw_the_cpu_pictures
    print(json.dumps(simulated_comparison()))
