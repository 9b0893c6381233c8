"""Mixed view augmentation: each rendered view of a face transformed independently, plus view-level mixing.

The paper widens its data by applying flips, rotations, crops and scales differently to each view, so the
views of one face never share one transform and the shared vision tower cannot key on a fixed framing.
All image transforms of a view are composed into one affine map and applied with a single `grid_sample`
(background stays black, as rendered). In normal maps the colours are directions, so they are turned with
the image (`turn_normals`): a mirrored or rolled normal map is then the one the mirrored or rolled face
draws, not a picture no face could give. Randomness comes from an explicit `torch.Generator`, so a run that
seeds it per (epoch, sample) replays exactly after a resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IMAGE_Y_DOWN = torch.diag(torch.tensor([1.0, -1.0]))  # camera-space y points up, image rows run down


@dataclass(frozen=True)
class ViewAugmentation:
    """Per-view transforms (each view draws its own) and view-level options. Zeros turn a transform off."""

    flip_probability: float = 0.5  # mirror left-right
    max_rotation: float = 10.0  # degrees, in the image plane
    min_crop: float = 0.85  # side of a random crop window, as a fraction of the image (1: no crop)
    max_scale_change: float = 0.1  # zoom in or out by up to this fraction
    view_dropout: float = 0.0  # chance that a view is replaced by another view of the same face
    view_shuffle: bool = False  # permute the views of each face (matters only for position-aware fusion)

    @property
    def is_identity(self) -> bool:
        return (self.flip_probability == 0 and self.max_rotation == 0 and self.min_crop >= 1
                and self.max_scale_change == 0 and self.view_dropout == 0 and not self.view_shuffle)


NO_AUGMENTATION = ViewAugmentation(0.0, 0.0, 1.0, 0.0)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def view_affine(augmentation: ViewAugmentation, generator: torch.Generator) -> torch.Tensor:
    """One view's random transform as the 2x3 matrix `affine_grid` expects (output -> input coordinates).

    In normalised coordinates ([-1, 1]) an output pixel p samples the input at A p + t, so zooming in by s
    means A = R / s, and a crop window of side c centred at (cx, cy) means A = c * I, t = (cx, cy).
    """
    angle = math.radians(_uniform(generator, -augmentation.max_rotation, augmentation.max_rotation))
    scale = 1.0 + _uniform(generator, -augmentation.max_scale_change, augmentation.max_scale_change)
    crop = _uniform(generator, augmentation.min_crop, 1.0) if augmentation.min_crop < 1 else 1.0
    centre = [_uniform(generator, -(1 - crop), 1 - crop) for _ in range(2)]
    flip = -1.0 if float(torch.rand((), generator=generator)) < augmentation.flip_probability else 1.0
    cos, sin = math.cos(angle), math.sin(angle)
    linear = torch.tensor([[cos, -sin], [sin, cos]]) * (crop / scale)
    linear[:, 0] *= flip  # mirror the output's x before rotating
    return torch.cat([linear, torch.tensor(centre).unsqueeze(1)], dim=1)


def transform_views(views: torch.Tensor, affines: torch.Tensor) -> torch.Tensor:
    """Warp each (C, H, W) float view by its own affine (views: (V, C, H, W), affines: (V, 2, 3))."""
    grid = F.affine_grid(affines.to(views.device, views.dtype), list(views.shape), align_corners=False)
    return F.grid_sample(views, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def turn_normals(views: torch.Tensor, affines: torch.Tensor) -> torch.Tensor:
    """Normal-map views ((V, 3k, H, W): k pictures of n * 0.5 + 0.5 on a black background, e.g. a view's
    frames) whose normals turn as their view's warp turns the picture: a mirror negates x, a roll turns
    (x, y). The warp moves content by the inverse of the affine's rotation part, which is its transpose;
    crops and zooms change no direction."""
    linear = affines[:, :, :2].to(views.device, views.dtype)
    rotation = linear / torch.linalg.det(linear).abs().sqrt()[:, None, None]
    flip_y = IMAGE_Y_DOWN.to(views.device, views.dtype)
    turn = flip_y @ rotation.transpose(1, 2) @ flip_y
    pictures = views.unflatten(1, (-1, 3))
    planar = torch.einsum("vij,vkjhw->vkihw", turn, pictures[:, :, :2] * 2 - 1) * 0.5 + 0.5
    foreground = pictures[:, :, 2:] > 0  # a drawn normal faces the camera, so its z colour is at least 0.5
    return torch.cat([torch.where(foreground, planar, pictures[:, :, :2]), pictures[:, :, 2:]], dim=2).flatten(1, 2)


def mix_views(views: torch.Tensor, augmentation: ViewAugmentation, generator: torch.Generator) -> torch.Tensor:
    """View dropout (a view replaced by a copy of another, kept, view) and view shuffle, for one face."""
    count = views.shape[0]
    if augmentation.view_dropout > 0 and count > 1:
        dropped = torch.rand(count, generator=generator) < augmentation.view_dropout
        if dropped.all():  # keep at least one real view
            dropped[int(torch.randint(count, (1,), generator=generator))] = False
        kept = torch.nonzero(~dropped).flatten()
        source = torch.arange(count)
        picks = kept[torch.randint(len(kept), (int(dropped.sum()),), generator=generator)]
        source[dropped] = picks
        views = views[source]
    if augmentation.view_shuffle:
        views = views[torch.randperm(count, generator=generator)]
    return views


def augment_face(views: torch.Tensor, augmentation: ViewAugmentation, generator: torch.Generator,
                 render_mode: str) -> torch.Tensor:
    """All augmentations for one face's (V, C, H, W) float views in [0, 1], drawn in `render_mode`: per-view
    warps (normal maps' colours turned with them), then mixing."""
    if augmentation.is_identity:
        return views
    affines = torch.stack([view_affine(augmentation, generator) for _ in range(views.shape[0])])
    if render_mode == "normals":
        views = turn_normals(views, affines)
    return mix_views(transform_views(views, affines), augmentation, generator)


def augment_sequence(frames: torch.Tensor, augmentation: ViewAugmentation, generator: torch.Generator,
                     render_mode: str) -> torch.Tensor:
    """A 4D face's (T, V, C, H, W) views: each view draws its own transform, the same for all of its frames
    (a camera does not jump between frames), and view mixing is the same for every frame."""
    count, views, channels, height, width = frames.shape
    stacked = frames.permute(1, 0, 2, 3, 4).reshape(views, count * channels, height, width)
    stacked = augment_face(stacked, augmentation, generator, render_mode)
    return stacked.reshape(views, count, channels, height, width).permute(1, 0, 2, 3, 4)
