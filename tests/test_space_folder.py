"""The Space folder that `scripts/push_to_hub.py --space-out` prepares (through `prepare_space`): a torch build
for its hardware, requirements that install what its code imports, at the tested versions.

What these tests check offline, on this machine: every line of requirements.txt is valid pip input; with the
Space's gradio (`sdk_version`) the pins resolve together to exactly the distributions installed here (the ones
the suite tests), with nothing left to download (`pip install --dry-run --no-index`); the prepared app, importing
its vendored copy of the package, builds the demo while importing only distributions that those requirements
(and gradio's own) install. What they cannot check offline: that PyTorch's CPU index serves torch 2.13.0+cpu
for the Space's Python and platform (pip honours `--extra-index-url` lines in a requirements file, which is how
the Space's builder installs it), that PyPI's CUDA build works on GPU hardware, that ZeroGPU supports this torch,
and that the Debian packages in packages.txt exist in the Space's image. A real install into a fresh venv would
need the network: the suite stays offline.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from huggingface_hub import metadata_load
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from affectvlm.hub import prepare_space
from affectvlm.hub.space import CPU_TORCH_INDEX
from conftest import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[1]
REPO_ID = "someone/affectvlm"

STDLIB = {Path(sysconfig.get_paths()[name]) for name in ("stdlib", "platstdlib")}
IMPORTS_OF_THE_APP = textwrap.dedent(
    """
    import json, sys
    import app  # the prepared Space's app.py, which imports the vendored package next to it
    demo = app.create_demo()
    files = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
    print(json.dumps({"affectvlm": sys.modules["affectvlm"].__file__, "endpoints": sorted(
        fn.api_name for fn in demo.fns.values() if isinstance(fn.api_name, str)), "modules": files}))
    """
)


@pytest.fixture(scope="module")
def space_folder(tmp_path_factory) -> Path:
    return prepare_space(REPO / "space", tmp_path_factory.mktemp("space") / "upload", REPO_ID)


def _requirements(folder: Path) -> list[str]:
    return [line for line in (folder / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(("hardware", "torch_line", "cpu_index"), [
    ("cpu-basic", "torch==2.13.0+cpu", True), ("cpu-upgrade", "torch==2.13.0+cpu", True),
    ("t4-small", "torch==2.13.0", False), ("zero-a10g", "torch==2.13.0", False)])
def test_the_torch_build_fits_the_hardware(hardware, torch_line, cpu_index, tmp_path):
    folder = prepare_space(REPO / "space", tmp_path / "upload", REPO_ID, hardware=hardware)
    requirements = _requirements(folder)
    assert [line for line in requirements if line.startswith("torch")] == [torch_line]
    assert (CPU_TORCH_INDEX in requirements) is cpu_index
    assert metadata_load(folder / "README.md")["suggested_hardware"] == hardware
    with pytest.raises(ValueError, match="unknown Space hardware"):
        prepare_space(REPO / "space", tmp_path / "other", REPO_ID, hardware="a-laptop")


def test_the_requirements_resolve_offline_to_the_tested_versions(space_folder, tmp_path):
    sdk = metadata_load(space_folder / "README.md")["sdk_version"]
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--no-index", "--quiet",
         "--report", str(report), "-r", str(space_folder / "requirements.txt"), f"gradio=={sdk}"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]  # a pin that differs from what is installed cannot resolve
    assert json.loads(report.read_text())["install"] == []  # nothing to fetch: all of it is what the suite tests
    assert importlib.metadata.version("torch").endswith("+cpu")  # so the +cpu pin is the tested build


def _installed_closure(requirements: list[str]) -> set[str]:
    """The distributions that installing `requirements` brings in (with extras), from the installed metadata."""
    pending = [Requirement(line) for line in requirements if not line.startswith("-")]
    closure: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in closure:
            continue
        closure.add(name)
        for text in importlib.metadata.requires(name) or []:
            needed = Requirement(text)
            extras = ["", *requirement.extras]
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(needed)
    return closure


def _site_packages_holding_only(distributions: set[str], folder: Path) -> Path:
    """A site-packages folder with only these installed distributions in it (symlinks to their files): what a
    fresh environment that installed exactly them can import."""
    folder.mkdir()
    for name in distributions:
        distribution = importlib.metadata.distribution(name)
        for top in {Path(file).parts[0] for file in distribution.files or []} - {".."}:
            source, target = Path(distribution.locate_file(top)), folder / top
            if source.exists() and not target.exists():
                target.symlink_to(source)
    return folder


def test_the_prepared_app_builds_with_only_what_its_requirements_install(space_folder, tmp_path):
    sdk = metadata_load(space_folder / "README.md")["sdk_version"]
    installed = _installed_closure([*_requirements(space_folder), f"gradio=={sdk}"])
    assert {"torch", "transformers", "gradio", "numba", "scipy"} <= installed  # numba: the default renderer
    assert not {"accelerate", "datasets", "matplotlib", "affectvlm", "pyrender"} & installed  # training, the package, GL
    site = _site_packages_holding_only(installed, tmp_path / "site-packages")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(space_folder), str(site)]),
           "AFFECTVLM_MODEL": str(DEFAULT_MODEL), "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    run = subprocess.run([sys.executable, "-S", "-c", IMPORTS_OF_THE_APP], cwd=space_folder, env=env,
                         capture_output=True, text=True, timeout=300)  # -S: not this environment's site-packages
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(loaded["affectvlm"]).is_relative_to(space_folder)  # the vendored copy, not this checkout
    assert {"analyse", "predict"} <= set(loaded["endpoints"])
    outside = sorted(name for name, file in loaded["modules"].items()
                     if file and Path(file).is_absolute() and not any(Path(file).is_relative_to(root) for root in (space_folder, site, *STDLIB)))
    assert not outside, f"imported from outside the Space's environment: {outside}"
