"""The hard held-out set: faces that no training set uses, written in every format and read back as a user's.

Identities come from a seed range no writer uses by default (30000+), expressions from the held-out recipes
(and, reported apart, the training recipes on these new people), crops that the training writer never makes
(the ICT model's own face mask, a profile cut, a whole head, a Bosphorus-like range scan), poses drawn
uniformly up to +-15 degrees, scanner noise, millimetres and an offset of up to half a metre. Each face is
written as .obj, .ply, BU-3DFE-style .wrl or Bosphorus .bnt and read back through `load_mesh`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..data.emotions import EMOTIONS_WITH_NEUTRAL
from ..face_template import NARROW_FACE_VERTICES
from ..io.bnt import write_bnt_grid
from ..io.obj import write_obj
from ..io.vrml import write_vrml
from ..model.meshes_affectvlm import FaceMesh
from ..synthetic import Variation, draw_expression, face_model, rotation_matrix, synthesize_expression
from ..synthetic.range_scan import mesh_to_grid

HELDOUT_SEED_OFFSET = 30_000
FORMATS = (".obj", ".ply", ".wrl", ".bnt")
CROPS = ("full head", "face mask", "profile cut")
MILLIMETRES = 10.0  # per centimetre of the face model
# Test faces vary as scans do, but every crop and the pose come from this module, never from the writer's
# training variation (SCAN_VARIATION).
TEST_VARIATION = Variation(intensity_jitter=0.2, asymmetry=0.2, extra_unit_rate=0.6, extra_unit_max=0.3,
                           head_pose=0.0, scan_noise=0.03, crop_probability=0.0, hole_rate=0.3)
BNT_SPACING_MM = 0.8


@dataclass(frozen=True)
class HeldoutFace:
    """One written test face and what it is."""

    path: str
    label: str
    subject: int
    recipe: str
    recipe_split: str  # "heldout": a way of making the emotion no training face uses; "train": seen recipe
    crop: str
    format: str
    pose: tuple[float, float, float]


def _crop(face: FaceMesh, crop: str, rng: np.random.Generator) -> FaceMesh:
    """A whole head, the face model's own face mask (forehead to chin, no ears), or one side cut away."""
    if crop == "full head":
        return face
    if crop == "face mask":
        return face_mask(face)
    side = rng.choice([-1.0, 1.0]) * face.vertices[:, 0]
    return _kept_vertices(face, side < np.percentile(side, 100 - rng.uniform(20, 35)))


def face_mask(face: FaceMesh) -> FaceMesh:
    """An ICT head cut to the face model's own face region (forehead to chin, no ears, scalp or neck), as
    face-only models give."""
    return _kept_vertices(face, np.arange(len(face.vertices)) < NARROW_FACE_VERTICES)


def _kept_vertices(face: FaceMesh, keep: np.ndarray) -> FaceMesh:
    """The surface on the kept vertices, without the head's landmarks (a cut face has no annotations)."""
    return dataclasses.replace(face.submesh(keep), landmarks=None)


def _posed(face: FaceMesh, rng: np.random.Generator) -> tuple[FaceMesh, tuple[float, float, float]]:
    """Rotated by up to +-15 degrees of yaw and pitch and +-10 of roll, in millimetres, somewhere in space."""
    pose = (float(rng.uniform(-15, 15)), float(rng.uniform(-15, 15)), float(rng.uniform(-10, 10)))
    centre = face.vertices.mean(axis=0)
    vertices = (face.vertices - centre) @ rotation_matrix(*pose).T + centre
    vertices = vertices * MILLIMETRES + rng.uniform(-500, 500, size=3)
    return dataclasses.replace(face, vertices=vertices.astype(np.float32)), pose


def write_face(face: FaceMesh, path: Path) -> None:
    """`face` in the format its suffix names, as a scanner's software or another face pipeline would save it."""
    if path.suffix == ".ply":
        path.write_bytes(trimesh.Trimesh(face.vertices, face.faces, process=False).export(file_type="ply",
                                                                                         encoding="binary"))
    elif path.suffix == ".obj":
        write_obj(path, face)
    elif path.suffix == ".wrl":
        write_vrml(path, face)
    else:
        grid, _ = mesh_to_grid(face, BNT_SPACING_MM, path.with_suffix(".png").name)
        write_bnt_grid(path, grid)


def write_heldout_faces(root: str | Path, subjects: int, seed_offset: int = HELDOUT_SEED_OFFSET,
                        emotions: tuple[str, ...] = EMOTIONS_WITH_NEUTRAL) -> list[HeldoutFace]:
    """Write `subjects` x emotions x {held-out recipe, training recipe} faces under `root` and list them
    (index.json beside them); formats and crops rotate so that every pair occurs."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    faces, number = [], 0
    for subject in range(seed_offset, seed_offset + subjects):
        for emotion in emotions:
            for split in ("heldout", "train"):
                rng = np.random.default_rng([subject, EMOTIONS_WITH_NEUTRAL.index(emotion), len(split), 31])
                expression = draw_expression(emotion, split, rng, levels=(0.6, 1.0))
                crop, fmt = CROPS[number % len(CROPS)], FORMATS[(number // len(CROPS)) % len(FORMATS)]
                face = synthesize_expression(subject, expression, TEST_VARIATION, sample_seed=number)
                face, pose = _posed(_crop(face, crop, rng), rng)
                path = root / f"{subject}_{emotion}_{split}_{number:04d}{fmt}"
                write_face(face, path)
                faces.append(HeldoutFace(str(path), emotion, subject, expression.recipe.name, split,
                                         "range scan" if fmt == ".bnt" else crop, fmt, pose))
                number += 1
    index = [{**dataclasses.asdict(face), "path": Path(face.path).name} for face in faces]
    (root / "index.json").write_text(json.dumps(index, indent=1))
    return faces


def read_heldout_index(root: str | Path) -> list[HeldoutFace]:
    """The faces listed in `root`/index.json, each found beside the index: the folder can be moved or copied,
    and is read the same from any working directory (older indexes named the path as it was written)."""
    entries = json.loads((Path(root) / "index.json").read_text())
    return [HeldoutFace(**{**entry, "path": str(Path(root) / Path(entry["path"]).name), "pose": tuple(entry["pose"])})
            for entry in entries]


def full_topology(vertex_count: int) -> bool:
    """Whether a mesh still has the face model's whole vertex list (so its vertices can be compared 1:1)."""
    return vertex_count == len(face_model().neutral)


__all__ = ["CROPS", "FORMATS", "HELDOUT_SEED_OFFSET", "HeldoutFace", "full_topology", "read_heldout_index",
           "write_face", "write_heldout_faces"]
