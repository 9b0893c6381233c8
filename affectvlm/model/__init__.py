"""Everything a Hub checkpoint carries as remote code: flat modules that import only each other."""

from .configuration_affectvlm import AffectVLMConfig
from .meshes_affectvlm import FaceMesh, MeshFormatError, MeshLimits, load_mesh, register_mesh_reader
from .modeling_affectvlm import AffectVLMModel, AffectVLMOutput, AffectVLMPreTrainedModel
from .pipeline_affectvlm import PIPELINE_TASK, AffectVLMPipeline
from .processing_affectvlm import AffectVLMProcessor
from .rendering_affectvlm import RENDER_MODES, ViewSpec, normalize_mesh, render_views

__all__ = [
    "AffectVLMConfig",
    "AffectVLMModel",
    "AffectVLMOutput",
    "AffectVLMPipeline",
    "AffectVLMPreTrainedModel",
    "AffectVLMProcessor",
    "FaceMesh",
    "MeshFormatError",
    "MeshLimits",
    "PIPELINE_TASK",
    "RENDER_MODES",
    "ViewSpec",
    "load_mesh",
    "normalize_mesh",
    "register_mesh_reader",
    "render_views",
]
