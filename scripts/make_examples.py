"""Write the demo's bundled examples: one synthetic face per emotion and a short sequence of a few emotions,
as binary PLY.

    python scripts/make_examples.py [--subject 9000] [--sequence-emotions anger,happiness,surprise]

The subject seed is held out: the default model's 3D faces have seeds 1000-1299, its 4D sequences 50,000 on,
so these are identities it has never seen. Each face is the emotion's prototype at full intensity; each
sequence is a captured-style clip (a random training recipe rising and falling on a random timeline, with
blinks, talking and head motion, as affectvlm.synthetic.dynamics draws them) of EXAMPLE_FRAMES frames, one
PLY per frame in a .zip, as the demo takes sequences.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import zipfile
from pathlib import Path

import trimesh

from affectvlm.arguments import comma_list
from affectvlm.model.meshes_affectvlm import FaceMesh
from affectvlm.synthetic import (
    CAPTURED_DYNAMICS, EMOTION_PROTOTYPES, SequenceClip, synthesize_face, synthesize_sequence,
)

EXAMPLE_FRAMES = 12  # short, so that the examples stay small; the clips still rise, hold and fall
EXAMPLE_DYNAMICS = dataclasses.replace(CAPTURED_DYNAMICS, min_frames=EXAMPLE_FRAMES, start_mid_probability=0.0)


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
    """A captured-style clip of the emotion: frame_00.ply ... in a deflated .zip."""
    frames = synthesize_sequence(subject, emotion, SequenceClip(EXAMPLE_FRAMES, dynamics=EXAMPLE_DYNAMICS))
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
    parser.add_argument("--sequence-emotions", type=comma_list(), default=["anger", "happiness", "surprise"],
                        help="comma-separated emotions of the example sequences (default: anger,happiness,surprise)")
    parser.add_argument("--out", type=Path, default=Path("affectvlm/assets/examples"), help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    emotions = args.sequence_emotions
    unknown = sorted(set(emotions) - set(EMOTION_PROTOTYPES) | ({"neutral"} & set(emotions)))
    if unknown:
        parser.error(f"--sequence-emotions: not an emotion with a sequence: {', '.join(unknown)}")
    sequences = [write_sequence(args.subject, emotion, args.out) for emotion in emotions]
    for path in [*write_faces(args.subject, args.out), *sequences]:
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
