"""Time `affectvlm predict` on a long, dense 4D sequence: wall time and peak memory of the whole command.

    python scripts/benchmarks/sequence_predict.py [--frames 100] [--model affectvlm/assets/default_model] [--out FILE]

The sequence is a captured-style synthetic clip (affectvlm.synthetic) of --frames frames, each face subdivided
once (9,409 -> about 37,000 vertices, the density of a BU-4DFE frame), written as binary PLY frames in a .zip.
The command runs as a separate process under `/usr/bin/time -v`, so the figures are the operating system's:
elapsed wall time and maximum resident set size, for every frame scored and, with --num-frames, for a sample.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import trimesh

from affectvlm.bundled import DEFAULT_MODEL
from affectvlm.synthetic import CAPTURED_DYNAMICS, SequenceClip, synthesize_sequence


def write_sequence(path: Path, frames: int) -> dict:
    """A `frames`-frame captured clip of dense frames as a deflated .zip of binary PLYs; its size facts."""
    dynamics = dataclasses.replace(CAPTURED_DYNAMICS, min_frames=frames)  # exactly `frames` frames
    clip = synthesize_sequence(60_000, "happiness", SequenceClip(frames, dynamics=dynamics))
    vertices = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, frame in enumerate(clip):
            dense = trimesh.Trimesh(frame.vertices, frame.faces, process=False).subdivide()
            vertices = len(dense.vertices)
            buffer = io.BytesIO()
            dense.export(buffer, file_type="ply", encoding="binary")
            archive.writestr(f"sequence/frame_{number:03d}.ply", buffer.getvalue())
    return {"frames": len(clip), "vertices_per_frame": vertices, "zip_bytes": path.stat().st_size}


def timed_predict(archive: Path, model: str, extra: list[str]) -> dict:
    """Wall seconds and peak resident memory (MiB) of one `affectvlm predict` process, from /usr/bin/time -v."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "affectvlm.cli", "predict", str(archive),
               "--model", model, "--json", *extra]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    hours, minutes, seconds = int(wall.group(1) or 0), int(wall.group(2)), float(wall.group(3))
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    (scored,) = json.loads(result.stdout)
    return {"options": extra, "wall_s": round(hours * 3600 + minutes * 60 + seconds, 2),
            "peak_rss_mib": round(peak_kib / 1024, 1), "frames_scored": len(scored["frames"]),
            "label": scored["label"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100, help="frames in the sequence (default: 100)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder (default: the bundled one)")
    parser.add_argument("--out", default="outputs/benchmarks/sequence_predict.json", help="JSON file to write")
    args = parser.parse_args()
    if not Path("/usr/bin/time").is_file():
        parser.error("needs GNU time at /usr/bin/time (Debian: apt-get install time)")
    with tempfile.TemporaryDirectory() as workdir:
        archive = Path(workdir) / "sequence.zip"
        sequence = write_sequence(archive, args.frames)
        print(f"{sequence['frames']} frames of {sequence['vertices_per_frame']:,} vertices, "
              f"{sequence['zip_bytes'] / 2**20:.0f} MiB zipped", flush=True)
        sampled = ["--num-frames", "16", "--frame-sampling"]
        runs = [timed_predict(archive, args.model, extra) for extra in ([], [*sampled, "uniform"], [*sampled, "apex"])]
    for run in runs:
        print(f"predict {' '.join(run['options']) or '(every frame)'}: {run['wall_s']:.1f} s, "
              f"peak {run['peak_rss_mib']:.0f} MiB, {run['frames_scored']} frames scored, label {run['label']}")
    report = {"machine": platform.processor() or platform.machine(), "model": args.model, "sequence": sequence,
              "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
