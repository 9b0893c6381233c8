"""Prove an export works for someone without this package: reload it in a clean process with remote code and
compare its rendering, logits and face embeddings, and its pipeline's scores, with the in-memory model on the
bundled example face."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..bundled import EXAMPLE_FACE
from ..model import AffectVLMModel, AffectVLMProcessor

logger = logging.getLogger(__name__)

COMPARED = ("pixel_values", "logits", "face_embeds", "pipeline_scores")
# Same code, weights and CPU in both processes: anything beyond float rounding is a real difference.
ATOL = 1e-5
RTOL = 1e-5

CLEAN_PROCESS = textwrap.dedent(
    """
    import json, sys
    sys.modules["affectvlm"] = None  # the user has no affectvlm: any `import affectvlm` raises ImportError
    import numpy as np, torch
    from transformers import AutoModel, AutoProcessor, pipeline
    folder, mesh, out = sys.argv[1:4]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    inputs = processor(meshes=mesh)
    with torch.no_grad():
        outputs = model(**inputs)
    pipe = pipeline(model=folder, trust_remote_code=True, device="cpu")
    scores = {row["label"]: row["score"] for row in pipe(mesh)}
    np.savez(out, pixel_values=inputs["pixel_values"].numpy(), logits=outputs.logits.numpy(),
             face_embeds=outputs.face_embeds.numpy(),
             pipeline_scores=np.array([[scores[label] for label in model.config.emotion_labels]]))
    print(json.dumps({"model": type(model).__module__, "processor": type(processor).__module__,
                      "pipeline": type(pipe).__module__}))
    """
)


class ExportCheckError(RuntimeError):
    """The exported folder does not load, or does not compute what the in-memory model computes."""


@dataclass(frozen=True)
class ExportCheck:
    """What the clean process loaded and how far its outputs were from the in-memory model's."""

    mesh: str
    max_abs_diff: dict[str, float]
    model_module: str
    processor_module: str


def _clean_process_outputs(folder: Path, mesh: Path, timeout_s: float) -> tuple[dict[str, np.ndarray], dict]:
    """What a fresh process without affectvlm computes from the folder (CLEAN_PROCESS), and which modules it
    loaded the classes from (each must be the folder's own remote code)."""
    logger.info("reloading %s in a clean process without affectvlm (trust_remote_code=True)", folder)
    with tempfile.TemporaryDirectory(prefix="affectvlm-check-") as scratch:
        result_file = Path(scratch) / "outputs.npz"
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        # a private modules cache: the remote code is the folder's, not an earlier run's copy
        env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(Path(scratch) / "modules"))
        run = subprocess.run(
            [sys.executable, "-c", CLEAN_PROCESS, str(folder), str(mesh.resolve()), str(result_file)],
            cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout_s,
        )
        if run.returncode != 0:
            raise ExportCheckError(
                f"{folder} does not load and run in a clean process without affectvlm "
                f"(exit code {run.returncode}):\n{run.stderr[-3000:]}")
        with np.load(result_file) as reloaded:
            actual = {name: reloaded[name] for name in COMPARED}
    modules = json.loads(run.stdout.strip().splitlines()[-1])
    for part in ("model", "processor", "pipeline"):
        if not modules[part].startswith("transformers_modules."):
            raise ExportCheckError(
                f"the clean process loaded the {part} from {modules[part]}, not the folder's own code")
    return actual, modules


def check_export(
    model: AffectVLMModel,
    processor: AffectVLMProcessor,
    folder: str | Path,
    *,
    mesh: str | Path = EXAMPLE_FACE,
    timeout_s: float = 600,
) -> ExportCheck:
    """Raise ExportCheckError, naming each output that differs and by how much, unless a fresh Python process
    in which `affectvlm` cannot be imported loads `folder` with trust_remote_code=True and renders and scores
    `mesh` like `model` and `processor` do here."""
    folder = Path(folder).resolve()
    logger.info("scoring %s with the in-memory model", Path(mesh).name)
    inputs = processor(meshes=str(mesh))
    with torch.no_grad():
        outputs = model(**inputs)
    expected = {"pixel_values": inputs["pixel_values"].numpy(), "logits": outputs.logits.numpy(),
                "face_embeds": outputs.face_embeds.numpy(), "pipeline_scores": outputs.logits.softmax(-1).numpy()}

    actual, modules = _clean_process_outputs(folder, Path(mesh), timeout_s)
    differences, mismatches = {}, []
    for name in COMPARED:
        if actual[name].shape != expected[name].shape:
            mismatches.append(f"{name}: shape {actual[name].shape} after reloading, {expected[name].shape} in memory")
            continue
        differences[name] = float(np.max(np.abs(actual[name] - expected[name])))
        if not np.allclose(actual[name], expected[name], atol=ATOL, rtol=RTOL):
            mismatches.append(f"{name}: max |difference| {differences[name]:.3g} (atol {ATOL:g}, rtol {RTOL:g})")
    if mismatches:
        hint = ("the rendering differs between the processes" if any(m.startswith("pixel_values") for m in mismatches)
                else "the exported weights or code compute something else than the model in memory")
        raise ExportCheckError(
            f"the export in {folder} does not reproduce the in-memory model on {Path(mesh).name} ({hint}):\n  "
            + "\n  ".join(mismatches))
    logger.info("clean-process check passed: max |difference| %s",
                ", ".join(f"{name} {value:.2g}" for name, value in differences.items()))
    return ExportCheck(Path(mesh).name, differences, modules["model"], modules["processor"])
