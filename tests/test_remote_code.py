"""A fresh Python process that cannot import `affectvlm` loads a saved model with trust_remote_code=True."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import torch

from affectvlm.bundled import EXAMPLES
from conftest import tiny_model_and_processor

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
    folder, mesh, other, out = sys.argv[1:5]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    with torch.no_grad():
        logits = model(**processor(meshes=mesh)).logits
        sequence = model(**processor(sequences=[[mesh, other, mesh]])).logits
    np.save(out, np.concatenate([logits.numpy(), sequence.numpy()]))
    print(json.dumps({"model": type(model).__module__, "processor": type(processor).__module__}))
    """
)


def test_clean_process_loads_with_remote_code_and_gets_identical_logits(example_face, tmp_path):
    """Faces and sequences alike: the temporal transformer travels with the remote code too."""
    model, processor = tiny_model_and_processor(temporal_pooling="transformer")
    with torch.no_grad():  # off its mean-pooling start, so that a head the clean process re-initialised shows
        for parameter in model.temporal_pooling.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    folder = tmp_path / "checkpoint"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    face, other = str(example_face), str(EXAMPLES / "happiness.ply")
    with torch.no_grad():
        expected = np.concatenate([model(**processor(meshes=face)).logits.numpy(),
                                   model(**processor(sequences=[[face, other, face]])).logits.numpy()])

    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", CLEAN_LOAD, str(folder), face, other, str(tmp_path / "logits.npy")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    # the classes came from the checkpoint's own copied files, not from this package
    assert modules["model"].startswith("transformers_modules.") and "modeling_affectvlm" in modules["model"]
    assert modules["processor"].startswith("transformers_modules.")
    np.testing.assert_array_equal(np.load(tmp_path / "logits.npy"), expected)
