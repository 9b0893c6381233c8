"""Write the bundled example face: a synthetic smiling face from the ICT face model, as a binary PLY.

    python scripts/make_example_face.py [--emotion happiness] [--subject 7] [--out affectvlm/assets/example_face.ply]
"""

import argparse
from pathlib import Path

import trimesh

from affectvlm.synthetic import EMOTION_PROTOTYPES, synthesize_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emotion", default="happiness", choices=sorted(EMOTION_PROTOTYPES))
    parser.add_argument("--subject", type=int, default=7, help="identity seed")
    parser.add_argument("--intensity", type=int, default=4, choices=[1, 2, 3, 4])
    parser.add_argument("--out", default="affectvlm/assets/example_face.ply")
    args = parser.parse_args()
    face = synthesize_face(args.subject, args.emotion, args.intensity)
    mesh = trimesh.Trimesh(face.vertices, face.faces, process=False)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    mesh.export(args.out, encoding="binary")
    print(f"{args.out}: {len(face.vertices)} vertices, {len(face.faces)} triangles ({args.emotion}, subject {args.subject})")


if __name__ == "__main__":
    main()
