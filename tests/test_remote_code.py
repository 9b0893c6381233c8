"""A fresh Python process that cannot import `affectvlm` loads a saved model with trust_remote_code=True."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import torch

CLEAN_LOAD = textwrap.dedent(
    """
    import json, sys
    sys.modules["affectvlm"] = None  # any `import affectvlm` now raises ImportError
    try:
        import affectvlm  # noqa: F401
        raise SystemExit("affectvlm is still importable")
    except ImportError:
        pass
    import numpy as np, torch
    from transformers import AutoModel, AutoProcessor
    folder, mesh, out = sys.argv[1:4]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    with torch.no_grad():
        logits = model(**processor(meshes=mesh)).logits
    np.save(out, logits.numpy())
    print(json.dumps({"model": type(model).__module__, "processor": type(processor).__module__}))
    """
)


def test_clean_process_loads_with_remote_code_and_gets_identical_logits(tiny, example_face, tmp_path):
    model, processor = tiny
    folder = tmp_path / "checkpoint"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    with torch.no_grad():
        expected = model(**processor(meshes=str(example_face))).logits.numpy()

    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", CLEAN_LOAD, str(folder), str(example_face), str(tmp_path / "logits.npy")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    # the classes came from the checkpoint's own copied files, not from this package
    assert modules["model"].startswith("transformers_modules.") and "modeling_affectvlm" in modules["model"]
    assert modules["processor"].startswith("transformers_modules.")
    np.testing.assert_array_equal(np.load(tmp_path / "logits.npy"), expected)
