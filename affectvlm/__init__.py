"""AffectVLM: vision-language 3D/4D facial emotion recognition.

Importing the package registers the config, model and processor with transformers' Auto classes, so that
`AutoModel.from_pretrained(folder)` works without `trust_remote_code`, and marks them for remote code, so
that `save_pretrained` also writes the modelling files for users who do not have this package. It also
registers the pipeline task: `pipeline("3d-facial-expression-recognition", model=folder)`.
"""

from transformers import AutoConfig, AutoModel, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from .model import (
    AffectVLMConfig,
    AffectVLMModel,
    AffectVLMOutput,
    AffectVLMPipeline,
    AffectVLMProcessor,
    FaceMesh,
    MeshFormatError,
    MeshLimits,
    PIPELINE_TASK,
    ViewSpec,
    load_mesh,
    normalize_mesh,
    render_views,
)
from . import io  # noqa: F401  (registers the .wrl and .bnt mesh readers)
from .tokenizer import clip_tokenizer

__version__ = "0.1.0"

AutoConfig.register(AffectVLMConfig.model_type, AffectVLMConfig, exist_ok=True)
AutoModel.register(AffectVLMConfig, AffectVLMModel, exist_ok=True)
AutoProcessor.register(AffectVLMConfig, AffectVLMProcessor, exist_ok=True)
AffectVLMConfig.register_for_auto_class()
AffectVLMModel.register_for_auto_class("AutoModel")
AffectVLMProcessor.register_for_auto_class("AutoProcessor")
PIPELINE_REGISTRY.register_pipeline(PIPELINE_TASK, pipeline_class=AffectVLMPipeline, pt_model=AutoModel,
                                    type="multimodal")


def build_processor(config: AffectVLMConfig) -> AffectVLMProcessor:
    """The processor that matches a model config, with CLIP's tokenizer (and the face template when the model
    expects face-centric input)."""
    from .face_template import default_face_alignment

    alignment = default_face_alignment().to_dict() if config.face_preprocessing else None
    return AffectVLMProcessor.from_config(config, tokenizer=clip_tokenizer(), face_alignment=alignment)


__all__ = [
    "AffectVLMConfig",
    "AffectVLMModel",
    "AffectVLMOutput",
    "AffectVLMPipeline",
    "AffectVLMProcessor",
    "FaceMesh",
    "MeshFormatError",
    "MeshLimits",
    "PIPELINE_TASK",
    "ViewSpec",
    "build_processor",
    "clip_tokenizer",
    "load_mesh",
    "normalize_mesh",
    "render_views",
]
