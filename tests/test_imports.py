"""The package's import graph has no cycles and io imports no layer above it, as scripts/check_imports.py
checks; and the checker does find a cycle and an upward arrow when a package has them."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_imports.py"


def _check(*args: str, script: Path = SCRIPT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_package_has_no_cycles_and_io_stays_low():
    result = _check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK:") and "modules" in result.stdout


def test_a_cycle_through_a_function_level_import_is_reported(tmp_path):
    root = _package(tmp_path / "fake", {
        "__init__.py": "",
        "first.py": "from .second import thing\n",
        "second.py": "def thing():\n    from . import third\n    return third\n",
        "third.py": "import fake.first\n",
        "alone.py": "import os\nfrom .first import thing\n",
    })
    result = _check("--root", str(root))
    assert result.returncode == 1
    assert "import cycle among 3 modules: fake.first, fake.second, fake.third" in result.stdout
    assert "fake.alone" not in result.stdout


def test_an_arrow_from_io_to_a_higher_layer_is_reported(tmp_path):
    root = _package(tmp_path / "fake", {
        "__init__.py": "", "data/__init__.py": "", "data/samples.py": "",
        "io/__init__.py": "from .reader import read\n",
        "io/reader.py": "from ..data.samples import *\n\ndef read():\n    pass\n",
    })
    result = _check("--root", str(root))
    assert result.returncode == 1
    assert "fake.io.reader imports fake.data.samples" in result.stdout
    assert "cycle" not in result.stdout


def test_help_explains_the_check():
    result = _check("--help")
    assert result.returncode == 0 and "--root" in result.stdout and "cycle" in result.stdout


SHAPE_SCRIPT = SCRIPT.with_name("check_function_shape.py")


def test_no_function_in_the_package_is_too_long_or_takes_too_many_parameters():
    result = _check(script=SHAPE_SCRIPT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shape_check_reports_a_long_function_and_a_long_signature(tmp_path):
    body = "\n".join(f"    x{index} = {index}" for index in range(60))
    _package(tmp_path / "fake", {"__init__.py": "", "big.py": f"def long():\n{body}\n\n\n"
                                 "class C:\n    def wide(self, a, b, c, d, e, f, g):\n        pass\n"})
    result = _check("--root", str(tmp_path / "fake"), script=SHAPE_SCRIPT)
    assert result.returncode == 1
    assert "big.py:1 long: 61 lines, 0 parameters" in result.stdout
    assert "C.wide: 2 lines, 7 parameters" in result.stdout
