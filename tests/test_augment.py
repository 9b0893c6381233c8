"""Mixed view augmentation: each transform does what it says, views draw independently, seeds replay."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from affectvlm.model.meshes_affectvlm import FaceMesh
from affectvlm.model.rendering_affectvlm import ViewSpec, render_batch
from affectvlm.synthetic import synthesize_face
from affectvlm.training.on_the_fly import CameraJitter, jittered_views
from affectvlm.training.augment import (
    NO_AUGMENTATION,
    ViewAugmentation,
    augment_face,
    mix_views,
    transform_views,
    turn_normals,
    view_affine,
)

ONLY = dict(flip_probability=0.0, max_rotation=0.0, min_crop=1.0, max_scale_change=0.0)


def _views(count: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(0))


def test_identity_affine_leaves_views_unchanged():
    views = _views()
    affine = view_affine(NO_AUGMENTATION, torch.Generator().manual_seed(1))
    torch.testing.assert_close(affine, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))
    torch.testing.assert_close(transform_views(views, affine.expand(3, 2, 3)), views, atol=1e-5, rtol=0)
    assert augment_face(views, NO_AUGMENTATION, torch.Generator(), "shaded") is views


def test_flip_mirrors_left_right():
    views = _views()
    flip = ViewAugmentation(**{**ONLY, "flip_probability": 1.0})
    out = augment_face(views, flip, torch.Generator().manual_seed(0), "shaded")
    torch.testing.assert_close(out, views.flip(-1), atol=1e-5, rtol=0)


def test_rotation_by_a_quarter_turn_rotates_the_image():
    views = _views(1, 8)
    quarter = ViewAugmentation(**{**ONLY, "max_rotation": 90.0})
    affine = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])  # what view_affine builds for 90 degrees
    torch.testing.assert_close(transform_views(views, affine), views.rot90(1, dims=(-2, -1)), atol=1e-5, rtol=0)
    generator = torch.Generator().manual_seed(0)
    angles = [view_affine(quarter, generator)[0, 1].item() for _ in range(50)]  # -sin(angle)
    assert min(angles) < -0.5 and max(angles) > 0.5  # both directions, up to large angles


def _normal_map(mesh: FaceMesh, roll: float = 0.0) -> torch.Tensor:
    image = render_batch([mesh], [ViewSpec("front", roll=roll)], "normals", 64)[0, 0]
    return torch.from_numpy(image).permute(2, 0, 1).float().div(255).unsqueeze(0)


@pytest.mark.parametrize("change", ["mirror", "roll"])
def test_a_warped_normal_map_is_the_one_the_mirrored_or_rolled_face_draws(change):
    """Normal maps hold directions: moving their colours alone gives pictures no face draws."""
    face = synthesize_face(7, "happiness")
    if change == "mirror":
        affine = torch.tensor([[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        mirrored = dataclasses.replace(face, vertices=face.vertices * np.float32([-1, 1, 1]),
                                       faces=face.faces[:, ::-1].copy())
        target = _normal_map(mirrored)
    else:  # the affine view_affine builds for a 30 degree turn; a camera roll turns the picture the same way
        cos, sin = math.cos(math.radians(30)), math.sin(math.radians(30))
        affine = torch.tensor([[[cos, -sin, 0.0], [sin, cos, 0.0]]])
        target = _normal_map(face, roll=30.0)
    views = _normal_map(face)
    moved = transform_views(views, affine)
    turned = transform_views(turn_normals(views, affine), affine)
    inside = (target[0, 2] > 0) & (turned[0, 2] > 0)

    def error(image):  # the median over the face: edges and eyes shift by a pixel between two rasterisations
        return (image - target)[0, :2, inside].abs().median().item()

    assert error(turned) < 0.01, error(turned)
    assert error(moved) > 5 * error(turned), (error(moved), error(turned))
    torch.testing.assert_close(turned[0, 2], moved[0, 2])  # z is the same whatever the turn


def test_crop_zooms_in_and_scale_changes_size():
    views = torch.zeros(1, 3, 32, 32)
    views[..., 8:24, 8:24] = 1.0  # a centred square of a quarter of the area
    crop = ViewAugmentation(**{**ONLY, "min_crop": 0.5})
    generator = torch.Generator().manual_seed(3)
    areas = [augment_face(views, crop, generator, "shaded")[0, 0].gt(0.5).float().mean().item()
             for _ in range(20)]
    assert min(areas) > 0.25 and max(areas) > 0.4  # a crop window magnifies what it keeps
    shrink = torch.tensor([[[1.25, 0.0, 0.0], [0.0, 1.25, 0.0]]])  # zoom out by 1/1.25
    assert transform_views(views, shrink)[0, 0].gt(0.5).float().mean().item() < 0.25


def test_each_view_draws_its_own_transform():
    views = _views().expand(3, 3, 16, 16).clone()
    views[:] = views[0]
    out = augment_face(views, ViewAugmentation(), torch.Generator().manual_seed(5), "shaded")
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])


def test_same_seed_replays_the_same_augmentation():
    views = _views()
    dropout = ViewAugmentation(view_dropout=0.3)
    first = augment_face(views, dropout, torch.Generator().manual_seed(9), "shaded")
    again = augment_face(views, dropout, torch.Generator().manual_seed(9), "shaded")
    torch.testing.assert_close(first, again)


def test_view_dropout_replaces_views_by_other_views_of_the_face():
    views = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = mix_views(views, ViewAugmentation(**ONLY, view_dropout=0.9), generator)
        values = out[:, 0, 0, 0].tolist()
        assert set(values) <= {0.0, 1.0, 2.0, 3.0}  # only views of this face
    many = [mix_views(views, ViewAugmentation(**ONLY, view_dropout=0.9), generator)[:, 0, 0, 0].tolist()
            for _ in range(20)]
    assert any(len(set(values)) < 4 for values in many)


def test_view_shuffle_permutes_views():
    views = torch.arange(5.0).view(5, 1, 1, 1)
    out = mix_views(views, ViewAugmentation(**ONLY, view_shuffle=True), torch.Generator().manual_seed(1))
    assert sorted(out.flatten().tolist()) == [0, 1, 2, 3, 4] and out.flatten().tolist() != [0, 1, 2, 3, 4]


def test_camera_jitter_moves_each_camera_within_its_bounds_and_replays_from_its_seed():
    views = [ViewSpec("frontal", 0, 0), ViewSpec("left", 30, 0)]
    jitter = CameraJitter(yaw=5.0, pitch=2.0, roll=1.0)
    jittered = jittered_views(views, jitter, torch.Generator().manual_seed(0))
    assert [v.name for v in jittered] == ["frontal", "left"] and jittered != views
    assert all(abs(j.yaw - v.yaw) <= 5 and abs(j.pitch - v.pitch) <= 2 and abs(j.roll) <= 1 for j, v in zip(jittered, views))
    assert jittered == jittered_views(views, jitter, torch.Generator().manual_seed(0))
    assert jittered_views(views, CameraJitter(), torch.Generator().manual_seed(0)) == views
    assert CameraJitter.parse([4]) == CameraJitter(4, 4, 4)
    with pytest.raises(ValueError, match="three"):
        CameraJitter.parse([1, 2])


@pytest.mark.parametrize("field", ["flip_probability", "max_rotation", "max_scale_change"])
def test_any_single_transform_makes_augmentation_active(field):
    assert not ViewAugmentation(**{**ONLY, field: 0.5}).is_identity
