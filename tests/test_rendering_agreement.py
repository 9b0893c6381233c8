"""The default backend draws the pictures the pyrender reference draws: bundled example faces, a BU-3DFE .wrl
and a Bosphorus .bnt, in every mode, at the default model's size; and a batch equals its meshes drawn alone."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from affectvlm.bundled import EXAMPLES
from affectvlm.data.loading import load_sample, scan_dataset
from affectvlm.model import meshes_affectvlm
from affectvlm.model.meshes_affectvlm import load_mesh
from affectvlm.model.rendering_affectvlm import RENDER_BACKENDS, ViewSpec, render_batch, render_views
from affectvlm.synthetic import DatasetRequest, SyntheticRequest, write_synthetic_dataset

VIEWS = [ViewSpec("frontal"), ViewSpec("left", 30.0), ViewSpec("right", -30.0), ViewSpec("above", 20.0, 15.0, 10.0)]
SIZE = 64


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> dict[str, meshes_affectvlm.FaceMesh]:
    """name -> mesh: two bundled examples (and one with vertex colours), a textured .wrl and a textured .bnt."""
    found = {path.stem: load_mesh(path) for path in sorted(EXAMPLES.glob("*.ply"))[:2]}
    first = next(iter(found.values()))
    ramp = (first.vertices - first.vertices.min(0)) / np.ptp(first.vertices, axis=0)
    found["vertex colours"] = dataclasses.replace(first, vertex_colors=(ramp * 255).astype(np.uint8))
    for layout, options in (("bu3dfe", {"intensities": [4]}), ("bosphorus", {"grid_spacing": 3.0})):
        root = tmp_path_factory.mktemp(layout)
        faces = SyntheticRequest(emotions=["happiness"], texture_size=64, **options)
        write_synthetic_dataset(DatasetRequest(root, layout, 1, faces))
        sample = next(scan_dataset(root, layout))
        found[Path(sample.files[0]).suffix] = load_sample(sample)[0]
    assert found[".wrl"].texture is not None and found[".bnt"].texture is not None
    return found


def agreement(image: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """Silhouette IoU, mean absolute difference inside both silhouettes, median signed difference there."""
    mask, expected = image.max(axis=2) > 0, reference.max(axis=2) > 0
    both = mask & expected
    difference = image.astype(int) - reference.astype(int)
    return (both.sum() / (mask | expected).sum(), float(np.abs(difference[both]).mean()),
            float(np.median(difference[both])))


@pytest.mark.parametrize("mode", ["shaded", "depth", "normals", "texture"])
def test_the_default_backend_agrees_with_pyrender_in_every_mode(faces, mode):
    names = list(faces)
    drawn = render_batch(list(faces.values()), VIEWS, mode, SIZE, backend="numba")
    reference = render_batch(list(faces.values()), VIEWS, mode, SIZE, backend="pyrender")
    for index, name in enumerate(names):
        for view, spec in enumerate(VIEWS):
            iou, difference, median = agreement(drawn[index, view], reference[index, view])
            where = f"{name}, {spec.name}"
            assert iou >= 0.98, where
            assert difference <= 3.0, where
            if mode == "depth":
                assert abs(median) <= 1, where


def test_a_batch_is_its_meshes_drawn_one_by_one(faces):
    meshes = list(faces.values())[:3]
    batch = render_batch(meshes, VIEWS[:2], "shaded", SIZE)
    assert batch.shape == (3, 2, SIZE, SIZE, 3) and batch.dtype == np.uint8
    for index, mesh in enumerate(meshes):
        np.testing.assert_array_equal(batch[index], np.stack(render_views(mesh, VIEWS[:2], "shaded", SIZE)))


def test_a_batch_with_mixed_modes_renders_textureless_meshes_shaded(faces):
    textured, plain = faces[".wrl"], next(iter(faces.values()))
    batch = render_batch([textured, plain], VIEWS[:1], "texture", SIZE)
    np.testing.assert_array_equal(batch[1], render_batch([plain], VIEWS[:1], "shaded", SIZE)[0])
    assert not np.array_equal(batch[0], render_batch([textured], VIEWS[:1], "shaded", SIZE)[0])


def test_roll_turns_the_picture_about_the_viewing_axis(faces):
    face = next(iter(faces.values()))
    (upright,) = render_views(face, [ViewSpec("front")], "depth", SIZE)
    (turned,) = render_views(face, [ViewSpec("front", roll=90.0)], "depth", SIZE)
    # rolled by 90 degrees, the picture is the upright one turned a quarter counter-clockwise, not clockwise
    counter_clockwise, clockwise = agreement(turned, np.rot90(upright, 1))[0], agreement(turned, np.rot90(upright, -1))[0]
    assert counter_clockwise > 0.94 and counter_clockwise > clockwise + 0.05


def test_unknown_backend_is_refused(faces):
    assert {"numba", "cuda", "pyrender"} <= set(RENDER_BACKENDS)
    with pytest.raises(ValueError, match="numba, cuda, pyrender"):
        render_batch([next(iter(faces.values()))], VIEWS, "shaded", SIZE, backend="opengl")
