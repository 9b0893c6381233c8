"""Prepare the Space upload folder: the project's space/ app pointed at a Hub model, with a vendored copy of
this package so the Space needs no `affectvlm` from PyPI, and a torch build that fits the Space's hardware."""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
from pathlib import Path

from huggingface_hub import SpaceHardware, metadata_load, metadata_save
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .folders import claim_output_folder, write_marker

logger = logging.getLogger(__name__)

SPACE_MARKER = ".affectvlm-space.json"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The Space loads its model from the Hub (README `models:`): the bundled default weights would be dead weight.
VENDOR_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "default_model")
SPACE_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", SPACE_MARKER)
SPACE_HARDWARE = tuple(flavor.value for flavor in SpaceHardware)
# Free CPU Spaces: torch's CPU build (a few hundred MB) from PyTorch's index, not PyPI's CUDA build (several GB).
CPU_TORCH_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def prepare_space(
    space_dir: str | Path, out: str | Path, model_repo_id: str, package_dir: str | Path = PACKAGE_DIR,
    hardware: str = "cpu-basic",
) -> Path:
    """Copy `space_dir` (app.py, README.md with a YAML header, requirements.txt) to `out`, set the README's
    `models:` to [model_repo_id] (the app reads its model from the first entry) and `suggested_hardware`, vendor
    the package as `out/affectvlm`, and make requirements.txt install the package's dependencies instead of the
    package, with the torch build for `hardware`: the CPU build on CPU flavors, PyPI's CUDA build on GPU ones
    (ZeroGPU included: its `spaces` package comes with the Space)."""
    if hardware not in SPACE_HARDWARE:
        raise ValueError(f"unknown Space hardware {hardware!r}; one of {', '.join(SPACE_HARDWARE)}")
    space_dir, package_dir = Path(space_dir), Path(package_dir)
    readme = space_dir / "README.md"
    if not (space_dir / "app.py").is_file() or not readme.is_file():
        raise FileNotFoundError(f"{space_dir} is not a Space folder: it needs app.py and README.md")
    if metadata_load(readme) is None:
        raise ValueError(f"{readme} has no YAML header (--- ... ---): a Space's README must declare sdk, app_file")
    out = claim_output_folder(out, SPACE_MARKER, "Space folder", inputs=(space_dir, package_dir))
    write_marker(out, SPACE_MARKER, {"space": str(space_dir.resolve()), "models": [model_repo_id]})

    logger.info("copying %s to %s", space_dir, out)
    shutil.copytree(space_dir, out, ignore=SPACE_IGNORE, dirs_exist_ok=True)
    metadata = metadata_load(out / "README.md")
    metadata["models"] = [model_repo_id]
    metadata["suggested_hardware"] = hardware
    metadata_save(out / "README.md", metadata)
    logger.info("vendoring %s (without the bundled default model)", package_dir)
    shutil.copytree(package_dir, out / "affectvlm", ignore=VENDOR_IGNORE)
    requirements = out / "requirements.txt"
    lines = requirements.read_text().splitlines() if requirements.is_file() else []
    lines = _torch_for_hardware(_requirements_without_package(lines), hardware)
    requirements.write_text("\n".join(lines) + "\n")
    return out


def _requirements_without_package(lines: list[str]) -> list[str]:
    """Drop `affectvlm` (it is vendored) and add whichever of its runtime dependencies are missing."""
    kept, listed = [], set()
    for line in lines:
        name = _requirement_name(line)
        if name == "affectvlm":
            logger.info("requirements.txt: dropping %r, the package is vendored", line.strip())
            continue
        kept.append(line)
        if name:
            listed.add(name)
    for requirement in importlib.metadata.requires("affectvlm") or []:
        parsed = Requirement(requirement)
        if parsed.marker is None and canonicalize_name(parsed.name) not in listed:
            logger.info("requirements.txt: adding %s, a dependency of the vendored package", requirement)
            kept.append(requirement)
    return kept


def _torch_for_hardware(lines: list[str], hardware: str) -> list[str]:
    """Pin torch to one version (the file's pin, else the installed one) in the build for the hardware: on CPU
    flavors `+cpu` from PyTorch's CPU index, on GPU flavors the CUDA build from PyPI."""
    requirements = [Requirement(line.split("#", 1)[0]) for line in lines if _requirement_name(line) == "torch"]
    pins = [spec.version for requirement in requirements for spec in requirement.specifier if spec.operator == "=="]
    version = Version(pins[0] if pins else importlib.metadata.version("torch")).public
    build = [CPU_TORCH_INDEX, f"torch=={version}+cpu"] if hardware.startswith("cpu") else [f"torch=={version}"]
    logger.info("requirements.txt: %s (for %s)", " ".join(build), hardware)
    fitted, placed = [], False
    for line in lines:  # the build goes where torch was, the rest stays in order
        if line.split("#", 1)[0].strip() == CPU_TORCH_INDEX:
            continue
        if _requirement_name(line) == "torch":
            fitted.extend([] if placed else build)
            placed = True
            continue
        fitted.append(line)
    return fitted if placed else fitted + build


def _requirement_name(line: str) -> str | None:
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):
        return None
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None
