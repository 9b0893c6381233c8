"""Write the demo's bundled examples: one synthetic face per emotion and one short sequence, as binary PLY.

    python scripts/make_examples.py [--subject 9000] [--sequence-emotion surprise] [--out affectvlm/assets/examples]

The subject seed is held out: the default model trains on seeds 0-59, so these faces are identities it has
never seen. Each face is the emotion's prototype at full intensity; the sequence goes from neutral through
intensities 1..4 of one emotion (onset to apex), one PLY per frame in a .zip, as the demo takes sequences.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import trimesh

from affectvlm.synthetic import EMOTION_PROTOTYPES, synthesize_face
from affectvlm.model.meshes_affectvlm import FaceMesh

SEQUENCE_INTENSITIES = (1, 2, 3, 4)


def ply_bytes(face: FaceMesh) -> bytes:
    """The face's geometry as a binary PLY (no landmarks or metadata: the demo takes plain meshes)."""
    return trimesh.Trimesh(face.vertices, face.faces, process=False).export(file_type="ply", encoding="binary")


def write_faces(subject: int, out: Path) -> list[Path]:
    paths = []
    for emotion in EMOTION_PROTOTYPES:
        path = out / f"{emotion}.ply"
        path.write_bytes(ply_bytes(synthesize_face(subject, emotion)))
        paths.append(path)
    return paths


def write_sequence(subject: int, emotion: str, out: Path) -> Path:
    """neutral, then the emotion at each intensity: frame_00.ply ... in a deflated .zip."""
    frames = [synthesize_face(subject, "neutral")]
    frames += [synthesize_face(subject, emotion, intensity) for intensity in SEQUENCE_INTENSITIES]
    path = out / f"{emotion}_sequence.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for index, face in enumerate(frames):
            archive.writestr(f"{emotion}_sequence/frame_{index:02d}.ply", ply_bytes(face))
    path.write_bytes(buffer.getvalue())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subject", type=int, default=9000, help="identity seed, held out from training (default: 9000)")
    parser.add_argument("--sequence-emotion", default="surprise", choices=sorted(set(EMOTION_PROTOTYPES) - {"neutral"}),
                        help="the emotion of the example sequence (default: surprise)")
    parser.add_argument("--out", type=Path, default=Path("affectvlm/assets/examples"), help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in [*write_faces(args.subject, args.out), write_sequence(args.subject, args.sequence_emotion, args.out)]:
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
