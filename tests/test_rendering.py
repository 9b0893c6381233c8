"""normalize_mesh and render_views: robust normalisation, one camera convention, and what each mode means."""

import dataclasses
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from affectvlm.bundled import EXAMPLE_FACE
from affectvlm.model import meshes_affectvlm, rendering_affectvlm
from affectvlm.model.meshes_affectvlm import FaceMesh, load_mesh
from affectvlm.model.rendering_affectvlm import RENDER_MODES, ViewSpec, normalize_mesh, render_views

FRONT, LEFT, RIGHT = ViewSpec("front"), ViewSpec("left", yaw=30.0), ViewSpec("right", yaw=-30.0)
SIZE = 128


@pytest.fixture(scope="module")
def face() -> FaceMesh:
    return load_mesh(EXAMPLE_FACE)


def mirrored(mesh: FaceMesh) -> FaceMesh:
    """x -> -x with the winding flipped, so the mirror image still faces outwards."""
    return dataclasses.replace(mesh, vertices=mesh.vertices * [-1, 1, 1], faces=mesh.faces[:, ::-1])


def foreground(image: np.ndarray) -> np.ndarray:
    return image.max(axis=2) > 0


def square(z: float, x0: float, x1: float) -> tuple[np.ndarray, np.ndarray]:
    """A square in the plane at depth z spanning x0..x1 and -0.5..0.5 in y, facing +z."""
    vertices = np.array([[x0, -0.5, z], [x1, -0.5, z], [x1, 0.5, z], [x0, 0.5, z]], np.float32)
    return vertices, np.array([[0, 1, 2], [0, 2, 3]])


def test_normalised_face_is_centred_with_unit_robust_radius(face):
    vertices = normalize_mesh(face).vertices.astype(np.float64)
    low, high = np.percentile(vertices, [1, 99], axis=0)
    np.testing.assert_allclose((low + high) / 2, 0, atol=1e-5)
    assert np.percentile(np.linalg.norm(vertices, axis=1), 99) == pytest.approx(1.0, abs=1e-5)


def test_normalisation_ignores_translation_and_uniform_scale(face):
    moved = dataclasses.replace(face, vertices=face.vertices * 7.5 + np.float32([100, -40, 3]))
    np.testing.assert_allclose(normalize_mesh(moved).vertices, normalize_mesh(face).vertices, atol=1e-5)


def test_a_stray_point_barely_moves_the_centre_or_scale(face):
    stray = dataclasses.replace(face, vertices=np.vstack([face.vertices, [[500.0, 500.0, 500.0]]]))
    plain, with_stray = normalize_mesh(face).vertices, normalize_mesh(stray).vertices[:-1]
    assert np.abs(with_stray - plain).max() < 0.01


def test_normalisation_moves_landmarks_with_vertices_and_leaves_input_alone(face):
    before = face.vertices.copy()
    marked = dataclasses.replace(face, landmarks=face.vertices[[5, 500, 5000]])
    normalised = normalize_mesh(marked)
    np.testing.assert_allclose(normalised.landmarks, normalised.vertices[[5, 500, 5000]], atol=1e-6)
    np.testing.assert_array_equal(face.vertices, before)
    np.testing.assert_array_equal(marked.landmarks, before[[5, 500, 5000]])


@pytest.mark.parametrize("mode", RENDER_MODES)
def test_every_mode_gives_framed_rgb_images_on_black(face, mode):
    images = render_views(face, [FRONT, LEFT, RIGHT], mode=mode, image_size=SIZE)
    assert len(images) == 3
    for image in images:
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
        mask = foreground(image)
        assert 0.15 < mask.mean() < 0.8  # the face fills much of the frame
        # black border: the whole face is in frame
        assert not mask[[0, -1]].any() and not mask[:, [0, -1]].any()
        rows, cols = np.nonzero(mask)
        assert abs(rows.mean() - SIZE / 2) < 0.1 * SIZE and abs(cols.mean() - SIZE / 2) < 0.1 * SIZE
    assert np.abs(images[0].astype(int) - images[1]).mean() > 5
    assert np.abs(images[0].astype(int) - images[2]).mean() > 5


def test_views_are_rendered_in_the_order_given(face):
    front, left = render_views(face, [FRONT, LEFT], image_size=SIZE)
    (left_alone,) = render_views(face, [LEFT], image_size=SIZE)
    np.testing.assert_array_equal(left, left_alone)
    assert not np.array_equal(front, left)


@pytest.mark.parametrize("mode", ["shaded", "depth", "normals"])
def test_mirrored_face_at_plus_yaw_is_the_mirror_image_at_minus_yaw(face, mode):
    (mirror_view,) = render_views(mirrored(face), [LEFT], mode=mode, image_size=SIZE)
    (view,) = render_views(face, [RIGHT], mode=mode, image_size=SIZE)
    flipped = view[:, ::-1].astype(int)
    if mode == "normals":  # mirroring also negates the camera-space x of every normal
        flipped[..., 0] = np.where(foreground(view[:, ::-1]), 255 - flipped[..., 0], 0)
    masks_differ = foreground(mirror_view) != foreground(view[:, ::-1])
    assert masks_differ.mean() < 0.01
    assert np.abs(mirror_view.astype(int) - flipped).mean() < 1.5


def test_positive_yaw_shows_the_subjects_left_cheek(face):
    # The camera moves to +x (the subject's left), so the nose, the nearest point, points to image left.
    for view, side in [(LEFT, -1), (RIGHT, 1)]:
        (depth,) = render_views(face, [view], mode="depth", image_size=SIZE)
        row, col = np.unravel_index(depth[..., 0].argmax(), depth.shape[:2])
        assert np.sign(col - SIZE / 2) == side


def test_positive_pitch_looks_from_above():
    vertices, faces = square(0.0, -0.5, 0.5)
    (image,) = render_views(FaceMesh(vertices, faces), [ViewSpec("up", pitch=30.0)], "normals", SIZE)
    # seen from above, the normal (0, 0, 1) points down the image: negative camera y, green below 128
    green, blue = image[SIZE // 2, SIZE // 2, 1:]
    assert green == pytest.approx(255 * (0.5 - 0.5 * np.sin(np.radians(30))), abs=3)
    assert blue == pytest.approx(255 * (0.5 + 0.5 * np.cos(np.radians(30))), abs=3)


def test_depth_nearer_is_brighter():
    near_left, faces = square(0.5, -1.0, 0.0)
    far_right, _ = square(-0.5, 0.0, 1.0)
    steps = FaceMesh(np.vstack([near_left, far_right]), np.vstack([faces, faces + 4]))
    (depth,) = render_views(steps, [FRONT], mode="depth", image_size=SIZE)
    middle = depth[SIZE // 2, :, 0].astype(int)
    left, right = middle[SIZE // 4], middle[3 * SIZE // 4]
    assert left > right + 30 and right > 0
    assert (depth[..., 0] == depth[..., 1]).all() and (depth[..., 0] == depth[..., 2]).all()


def test_depth_of_the_face_peaks_at_the_nose_and_ignores_translation_and_scale(face):
    (depth,) = render_views(face, [FRONT], mode="depth", image_size=SIZE)
    gray = depth[..., 0].astype(int)
    row, col = np.unravel_index(gray.argmax(), gray.shape)
    assert abs(col - SIZE / 2) < 0.05 * SIZE  # the nose tip is on the midline
    assert gray.max() > np.median(gray[gray > 0]) + 20
    moved = dataclasses.replace(face, vertices=face.vertices * 0.01 + np.float32([3, 2, 1]))
    (moved_depth,) = render_views(moved, [FRONT], mode="depth", image_size=SIZE)
    assert np.abs(moved_depth.astype(int) - depth).max() <= 1


def test_normals_of_a_plane_facing_the_camera_are_blue_and_turn_with_yaw():
    vertices, faces = square(0.0, -0.5, 0.5)
    plane = FaceMesh(vertices, faces)
    front, left = render_views(plane, [FRONT, LEFT], mode="normals", image_size=SIZE)
    assert front[SIZE // 2, SIZE // 2].tolist() == pytest.approx([128, 128, 255], abs=2)
    # from +30 yaw the plane's normal points to image left: negative camera x, red below 128
    assert left[SIZE // 2, SIZE // 2, 0] == pytest.approx(255 * (0.5 - 0.5 * np.sin(np.radians(30))), abs=3)


def test_texture_mode_draws_vertex_colours(face):
    red = dataclasses.replace(face, vertex_colors=np.tile(np.uint8([255, 0, 0]), (len(face.vertices), 1)))
    (image,) = render_views(red, [FRONT], mode="texture", image_size=SIZE)
    pixels = image[foreground(image)].astype(int)
    assert np.median(pixels[:, 0]) == 255 and pixels[:, 1:].max() == 0


def test_texture_mode_maps_the_uv_image_upright_and_unmirrored(face):
    texture = np.zeros((64, 64, 3), np.uint8)
    texture[:32, :32] = [255, 0, 0]  # top left red
    texture[:32, 32:] = [0, 255, 0]  # top right green
    texture[32:] = [0, 0, 255]  # bottom blue
    xy = face.vertices[:, :2]
    uv = (xy - xy.min(0)) / np.ptp(xy, axis=0)  # u with x, v with y (v points up, as in OpenGL and OBJ)
    textured = dataclasses.replace(face, uv=uv.astype(np.float32), texture=Image.fromarray(texture))
    (image,) = render_views(textured, [FRONT], mode="texture", image_size=SIZE)
    mask = foreground(image)
    rows, cols = np.nonzero(mask)
    top = rows < np.percentile(rows, 30)
    bottom = rows > np.percentile(rows, 70)
    left, right = cols < SIZE / 2 - 4, cols > SIZE / 2 + 4
    colour = image[rows, cols].argmax(axis=1)  # 0 red, 1 green, 2 blue
    assert (colour[top & left] == 0).mean() > 0.9  # the subject's right (x < 0) is image left
    assert (colour[top & right] == 1).mean() > 0.9
    assert (colour[bottom] == 2).mean() > 0.9


def test_texture_mode_without_colours_falls_back_to_shaded_and_warns_once(face, caplog, monkeypatch):
    monkeypatch.setattr(rendering_affectvlm, "_texture_fallback_warned", False)
    with caplog.at_level(logging.WARNING, logger=rendering_affectvlm.__name__):
        (texture,) = render_views(face, [FRONT], mode="texture", image_size=SIZE)
        render_views(face, [FRONT], mode="texture", image_size=SIZE)
    (shaded,) = render_views(face, [FRONT], mode="shaded", image_size=SIZE)
    np.testing.assert_array_equal(texture, shaded)
    warnings = [record for record in caplog.records if "texture" in record.getMessage()]
    assert len(warnings) == 1 and str(EXAMPLE_FACE) in warnings[0].getMessage()


def test_shading_is_lit_from_the_camera(face):
    vertices, faces = square(0.0, -0.5, 0.5)
    front, left = render_views(FaceMesh(vertices, faces), [FRONT, LEFT], image_size=SIZE)
    # facing the camera is brightest; turned 30 degrees away it is darker
    assert int(front[SIZE // 2, SIZE // 2, 0]) > int(left[SIZE // 2, SIZE // 2, 0]) + 5
    (shaded,) = render_views(face, [FRONT], image_size=SIZE)
    assert (shaded[..., 0] == shaded[..., 1]).all() and (shaded[..., 1] == shaded[..., 2]).all()


def test_threads_render_the_same_images_as_one_thread(face):
    views = [FRONT, LEFT, RIGHT]
    expected = render_views(face, views, image_size=SIZE)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: render_views(face, views, image_size=SIZE), range(4)))
    for images in results:
        for image, reference in zip(images, expected):
            np.testing.assert_array_equal(image, reference)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_renders_with_its_own_context(face):
    import multiprocessing

    (expected,) = render_views(face, [FRONT], image_size=SIZE)  # the parent has a GL context now
    with multiprocessing.get_context("fork").Pool(1) as pool:
        (child,) = pool.apply_async(render_views, (face, [FRONT], "shaded", SIZE)).get(timeout=60)
    np.testing.assert_array_equal(child, expected)


def test_sizes_are_independent(face):
    small, large = (render_views(face, [FRONT], image_size=size)[0] for size in (64, 96))
    assert small.shape == (64, 64, 3) and large.shape == (96, 96, 3)


def test_bad_arguments_raise_value_error(face):
    with pytest.raises(ValueError, match="shaded, depth, normals, texture"):
        render_views(face, [FRONT], mode="wireframe")
    with pytest.raises(ValueError, match="pitch"):
        render_views(face, [ViewSpec("top", pitch=90)])
    with pytest.raises(ValueError, match="image_size"):
        render_views(face, [FRONT], image_size=0)
    assert render_views(face, [], image_size=SIZE) == []


def test_importing_opens_no_gl_context_and_compiles_nothing():
    code = (
        "import os, sys; import affectvlm.model.processing_affectvlm; "
        "assert not {'pyrender', 'OpenGL', 'numba'} & set(sys.modules), 'GL or numba imported'; "
        "import affectvlm.model.pyrender_affectvlm as p; "
        "assert p._RENDERERS == {}; assert os.environ['PYOPENGL_PLATFORM'] == 'egl'"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYOPENGL_PLATFORM"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[1])
