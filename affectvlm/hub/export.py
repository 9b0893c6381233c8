"""Write the folder that goes to the Hub: weights, config, processor, remote code, model card, records."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers.dynamic_module_utils import custom_object_save

from ..bundled import load_pretrained
from ..model import PIPELINE_TASK, AffectVLMModel, AffectVLMPipeline, AffectVLMProcessor
from .card import CardInputs, build_model_card
from .folders import claim_output_folder, write_marker
from .records import without_local_paths

logger = logging.getLogger(__name__)

EXPORT_MARKER = ".affectvlm-export.json"
TRAINING_SUMMARY = "training_summary.json"
RESULTS_FOLDER = "evaluation"


def load_model_and_processor(model_dir: str | Path) -> tuple[AffectVLMModel, AffectVLMProcessor]:
    """The model and processor as this package's classes, so that the exported code is the package's code
    (never a stale copy of remote code that travelled with the folder)."""
    model, processor = load_pretrained(model_dir)
    if not isinstance(model, AffectVLMModel) or not isinstance(processor, AffectVLMProcessor):
        raise TypeError(
            f"{model_dir} loaded as {type(model).__module__}.{type(model).__name__} and "
            f"{type(processor).__name__}, not this package's AffectVLM classes")
    return model, processor


def export_model(
    model: AffectVLMModel,
    processor: AffectVLMProcessor,
    out: str | Path,
    *,
    source: str | Path,
    card: CardInputs,
) -> Path:
    """Write `out`: safetensors weights, config and processor files, the modelling .py files (the package
    registered its classes for auto classes, so save_pretrained copies them), the pipeline (its code, and
    `custom_pipelines` in config.json), README.md, the training summary and the results the card was built from
    (dataset roots removed). Refuses a non-empty `out` that is not a previous export."""
    out = claim_output_folder(out, EXPORT_MARKER, "AffectVLM export", inputs=(source,))
    write_marker(out, EXPORT_MARKER, {"source": str(Path(source).resolve()), "model_id": card.model_id})
    logger.info("saving weights, config, processor, pipeline and remote code to %s", out)
    model.config.custom_pipelines = custom_pipelines_entry()
    model.save_pretrained(out)  # safetensors: the only format transformers 5 writes
    processor.save_pretrained(out)
    custom_object_save(AffectVLMPipeline, out)  # pipeline_affectvlm.py and the sibling files it imports
    if card.training_summary is not None:
        (out / TRAINING_SUMMARY).write_text(json.dumps(without_local_paths(card.training_summary), indent=2) + "\n")
    if card.results:
        (out / RESULTS_FOLDER).mkdir()
        for index, result in enumerate(card.results):
            name = f"{index:02d}-{result['dataset']['name']}-{result['task']}"
            name += "-zero-shot" if result["zero_shot"] else ""
            path = out / RESULTS_FOLDER / f"{_file_safe(name)}.json"
            path.write_text(json.dumps(without_local_paths(result), indent=2) + "\n")
    logger.info("writing the model card")
    build_model_card(out, card).save(out / "README.md")
    return out


def custom_pipelines_entry() -> dict[str, dict[str, Any]]:
    """The config.json entry that lets `pipeline(model=folder, trust_remote_code=True)` find the pipeline: the
    registered task, as `Pipeline.save_pretrained` writes it (classes as names)."""
    info = dict(AffectVLMPipeline._registered_impl[PIPELINE_TASK])
    info["impl"] = f"{AffectVLMPipeline.__module__.rsplit('.', 1)[-1]}.{AffectVLMPipeline.__name__}"
    info["pt"] = [model_class.__name__ for model_class in info["pt"]]
    return {PIPELINE_TASK: info}


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
