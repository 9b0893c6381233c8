"""Synthetic subjects in the folder layout (see affectvlm.data.folder): textured OBJ files with `.bnd`
landmarks, or untextured binary PLY for large training sets, listed in manifest.csv (`write_index`)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import trimesh

from ...data.emotions import EMOTIONS_WITH_NEUTRAL
from ...data.folder import MANIFEST_NAMES, PATH_KEYS
from ...data.samples import FaceSample
from ...io.landmarks import write_bnd
from ...io.obj import write_obj
from ..attributes import subject_attributes
from ..expressions import draw_expression, prototype_expression
from ..faces import synthesize_expression
from ..output import OutputFolder
from ..request import SyntheticRequest
from ..texture import textured_scan
from .common import bnd_landmarks


def subject_ids(genders: Sequence[str]) -> list[str]:
    return [f"S{number:03d}" for number in range(1, len(genders) + 1)]


def _expressions(subject_seed: int, request: SyntheticRequest) -> list:
    """What one subject's faces show: each emotion's prototype per intensity, or random recipes of a split."""
    expressions = []
    for emotion in request.emotions:
        if request.recipes is None:
            intensities = (0,) if emotion == "neutral" else request.intensities
            expressions += [prototype_expression(emotion, intensity) for intensity in intensities]
            continue
        rng = np.random.default_rng([subject_seed, EMOTIONS_WITH_NEUTRAL.index(emotion), request.sample_seed, 11])
        variation = request.variation
        expressions += [draw_expression(emotion, request.recipes, rng, blend_probability=variation.recipe_blending,
                                        partial_probability=variation.partial_recipes)
                        for _ in range(request.faces_per_emotion)]
    return expressions


def write_subject(
    out: OutputFolder, subject: str, subject_seed: int, request: SyntheticRequest
) -> list[FaceSample]:
    """Write one synthetic subject's faces as textured OBJ files with .bnd landmarks (manifest: write_index);
    with `request.texture_size` 0, as binary PLY geometry alone (large training sets)."""
    attributes = subject_attributes(subject_seed)
    samples = []
    for number, expression in enumerate(_expressions(subject_seed, request)):
        sample_seed = request.sample_seed + (number if request.recipes is not None else 0)
        face = synthesize_expression(subject_seed, expression, request.variation, sample_seed)
        stem = f"meshes/{subject}/{subject}_{expression.emotion}_{expression.intensity}"
        stem += f"_{number:03d}" if request.recipes is not None else ""
        metadata = {"intensity": expression.intensity, **attributes}
        if request.recipes is not None:
            metadata.update(recipe=expression.recipe.name, recipe_split=expression.recipe.split,
                            level=round(expression.level, 3))
        if request.texture_size > 0:
            mesh_path = _write_textured(out, stem, face, subject_seed, request.texture_size, metadata)
        else:
            mesh_path = out.path(stem + ".ply")
            mesh_path.write_bytes(trimesh.Trimesh(face.vertices, face.faces, process=False).export(
                file_type="ply", encoding="binary"))
        samples.append(FaceSample(files=(str(mesh_path),), label=expression.emotion, subject=subject,
                                  metadata=metadata))
    return samples


def _write_textured(out: OutputFolder, stem: str, face, subject_seed: int, texture_size: int, metadata: dict) -> Path:
    """An OBJ with its texture, material and .bnd landmarks; their paths go into `metadata`."""
    scan_mesh = textured_scan(face, subject_seed, texture_size)
    mesh_path, texture_path = out.path(stem + ".obj"), out.path(stem + ".jpg")
    out.path(stem + ".mtl")
    write_obj(mesh_path, scan_mesh, texture_path)
    landmarks_path = out.path(stem + ".bnd")
    write_bnd(landmarks_path, *bnd_landmarks(scan_mesh, count=len(scan_mesh.landmarks)))
    metadata.update(landmarks_file=str(landmarks_path), texture_file=str(texture_path))
    return mesh_path


def write_index(out: OutputFolder, samples: Sequence[FaceSample]) -> None:
    """Write manifest.csv for `samples`, with paths relative to the output folder."""
    def relative(name: str) -> str:
        return Path(os.path.relpath(name, out.root)).as_posix()

    with out.path(MANIFEST_NAMES[0]).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "subject", "metadata"])
        for sample in samples:
            metadata = {key: relative(value) if key in PATH_KEYS else value
                        for key, value in sample.metadata.items()}
            writer.writerow([relative(sample.files[0]), sample.label or "", sample.subject, json.dumps(metadata)])
