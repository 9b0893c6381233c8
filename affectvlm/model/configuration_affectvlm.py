"""AffectVLMConfig: the towers, views, fusion, labels, prompts and loss of one AffectVLM model."""

from __future__ import annotations

from transformers import AutoConfig, CLIPTextConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .losses_affectvlm import check_loss_weights
from .prompts_affectvlm import DEFAULT_CLASS_TEMPLATES, validate_template
from .rendering_affectvlm import ViewSpec, check_render_mode

BASIC_EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")

# +-30 degrees: far enough to see the cheek, nasolabial fold and mouth corner in profile, near enough that
# single-view 2.5D range scans (Bosphorus, BP4D+) show no stretched triangles at the occluding contour,
# which appear past ~35-40 degrees. Positive yaw looks at the subject's left cheek.
DEFAULT_VIEWS = (
    {"name": "frontal", "yaw": 0.0, "pitch": 0.0},
    {"name": "left", "yaw": 30.0, "pitch": 0.0},
    {"name": "right", "yaw": -30.0, "pitch": 0.0},
)
DEFAULT_LOSS_WEIGHTS = {"contrastive": 1.0, "triplet": 1.0, "infonce": 1.0, "cross_entropy": 0.0}
VIEW_FUSIONS = ("mean", "attention")
CLASS_SCORERS = ("prompts", "centroids")
TEMPORAL_POOLINGS = ("mean", "attention", "transformer")


class AffectVLMConfig(PreTrainedConfig):
    r"""
    Configuration of an [`AffectVLMModel`].

    Args:
        vision_config (`dict` or `PreTrainedConfig`): the shared vision tower that encodes every rendered view: a
            CLIP vision transformer (`CLIPVisionConfig`, the default) or any transformers vision backbone whose
            model gives a `pooler_output`, e.g. a convolutional `ResNetConfig` / `ConvNextConfig` (a dict with
            its `model_type`), which learns from a few thousand faces where a ViT does not.
        text_config (`dict` or `CLIPTextConfig`): the text tower that encodes the emotion prompts.
        projection_dim (`int`): size of the joint face-text embedding space.
        views (`list[dict]`): the rendered views, each `{"name", "yaw", "pitch"}` in degrees.
        render_mode (`str`): one of `"shaded"`, `"depth"`, `"normals"`, `"texture"`.
        image_size (`int`): rendered view size in pixels; defaults to the vision tower's input size (required for
            towers without one, such as ResNet).
        face_preprocessing (`bool`): the model expects face-centric input: every mesh registered to a face
            template and cropped around the nose tip (the processor then carries the template); `False` for
            models trained on meshes normalised by their extent.
        view_fusion (`str`): `"mean"` (uniform) or `"attention"` (a learned score per view).
        temporal_pooling (`str`): for 4D input, how frame embeddings become one sequence embedding: `"mean"`,
            `"attention"` (a learned score per frame, which can weight the apex above neutral frames) or
            `"transformer"` (a small transformer reads the frames in order, then scores them: it can tell an
            expression's rise from its fall, and a held apex from a passing blink).
        temporal_layers (`int`), temporal_heads (`int`), temporal_dropout (`float`): the temporal
            transformer's depth, attention heads (dividing `projection_dim`) and dropout.
        frame_chunk_size (`int`): faces (frames) encoded per vision-tower call, bounding memory on long sequences.
        emotion_labels (`list[str]`): the classes, in logit order. Default: the six basic emotions.
        class_prompt_templates (`list[str]`): templates with `{adjective}` and/or `{noun}`, averaged into one
            embedding per class at inference.
        class_scorer (`str`): what the model's own classes are scored against: `"prompts"` (the stored prompt
            ensembles) or `"centroids"` (mean training-face embeddings, saved in the weights), for checkpoints
            trained without a loss that aligns the text tower with faces.
        loss_weights (`dict[str, float]`): weight per loss term (`contrastive`, `triplet`, `infonce`,
            `cross_entropy`); a weight of 0 turns the term off.
        margin_init (`float`), margin_range (`list[float]`): the learnable margin and the open interval it
            stays in.
        logit_scale_init_value (`float`): initial log of the logit scale, as in CLIP.
    """

    model_type = "affectvlm"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(config_class=AutoConfig, model_type="clip_vision_model"),
        "text_config": CLIPTextConfig,
    }

    vision_config: dict | PreTrainedConfig | None = None
    text_config: dict | CLIPTextConfig | None = None
    projection_dim: int = 512
    views: list | None = None
    render_mode: str = "shaded"
    image_size: int | None = None
    face_preprocessing: bool = False
    view_fusion: str = "mean"
    temporal_pooling: str = "mean"
    temporal_layers: int = 2
    temporal_heads: int = 4
    temporal_dropout: float = 0.1
    frame_chunk_size: int = 64
    emotion_labels: list | None = None
    class_prompt_templates: list | None = None
    class_scorer: str = "prompts"
    loss_weights: dict | None = None
    margin_init: float = 0.3
    margin_range: list | None = None
    logit_scale_init_value: float = 2.6592
    initializer_factor: float = 1.0

    def __post_init__(self, **kwargs):
        self.views = [dict(view) for view in (self.views or DEFAULT_VIEWS)]
        self.emotion_labels = list(self.emotion_labels or BASIC_EMOTIONS)
        self.class_prompt_templates = list(self.class_prompt_templates or DEFAULT_CLASS_TEMPLATES)
        self.loss_weights = dict(DEFAULT_LOSS_WEIGHTS if self.loss_weights is None else self.loss_weights)
        self.margin_range = list(self.margin_range or (0.0, 1.0))
        kwargs.pop("id2label", None)
        kwargs.pop("label2id", None)
        kwargs.pop("num_labels", None)
        self.id2label = dict(enumerate(self.emotion_labels))
        self.label2id = {label: index for index, label in enumerate(self.emotion_labels)}
        super().__post_init__(**kwargs)
        if self.image_size is None:
            self.image_size = getattr(self.vision_config, "image_size", None)
        self._check()

    @property
    def num_views(self) -> int:
        return len(self.views)

    @property
    def vision_width(self) -> int:
        """Width of the vision tower's pooled output: `hidden_size`, or the last stage of a conv backbone."""
        sizes = getattr(self.vision_config, "hidden_sizes", None)
        return int(sizes[-1]) if sizes else int(self.vision_config.hidden_size)

    def _check(self) -> None:
        """Fail at construction, with the field's name, rather than deep inside a forward pass."""
        if self.projection_dim <= 0:
            raise ValueError(f"projection_dim must be positive, got {self.projection_dim}")
        if not self.views:
            raise ValueError("views must name at least one view")
        names = []
        for view in self.views:
            if set(view) - {"name", "yaw", "pitch"} or "name" not in view:
                raise ValueError(f"each view is {{'name', 'yaw', 'pitch'}}, got {view}")
            ViewSpec(view["name"], float(view.get("yaw", 0.0)), float(view.get("pitch", 0.0)))  # the renderer's check
            names.append(view["name"])
        if len(set(names)) != len(names):
            raise ValueError(f"view names must be unique, got {names}")
        check_render_mode(self.render_mode)
        tower_size = getattr(self.vision_config, "image_size", None)
        if self.image_size is None or self.image_size < 1:
            raise ValueError(f"image_size must be a positive number of pixels, got {self.image_size}")
        if tower_size is not None and self.image_size != tower_size:
            raise ValueError(f"image_size ({self.image_size}) must equal vision_config.image_size ({tower_size})")
        if self.view_fusion not in VIEW_FUSIONS:
            raise ValueError(f"view_fusion must be one of {VIEW_FUSIONS}, got {self.view_fusion!r}")
        if self.temporal_pooling not in TEMPORAL_POOLINGS:
            raise ValueError(f"temporal_pooling must be one of {TEMPORAL_POOLINGS}, got {self.temporal_pooling!r}")
        if self.temporal_layers < 1 or self.temporal_heads < 1 or self.projection_dim % self.temporal_heads:
            raise ValueError(f"temporal_layers ({self.temporal_layers}) and temporal_heads ({self.temporal_heads}) "
                             f"must be positive, with temporal_heads dividing projection_dim ({self.projection_dim})")
        if not 0.0 <= self.temporal_dropout < 1.0:
            raise ValueError(f"temporal_dropout must lie in [0, 1), got {self.temporal_dropout}")
        if self.class_scorer not in CLASS_SCORERS:
            raise ValueError(f"class_scorer must be one of {CLASS_SCORERS}, got {self.class_scorer!r}")
        if self.frame_chunk_size < 1:
            raise ValueError(f"frame_chunk_size must be positive, got {self.frame_chunk_size}")
        if len(self.emotion_labels) < 2 or len(set(self.emotion_labels)) != len(self.emotion_labels):
            raise ValueError(f"emotion_labels must hold at least two distinct labels, got {self.emotion_labels}")
        if not self.class_prompt_templates:
            raise ValueError("class_prompt_templates must hold at least one template")
        for template in self.class_prompt_templates:
            validate_template(template)
        check_loss_weights(self.loss_weights)
        low, high = self.margin_range
        if not low < self.margin_init < high:
            raise ValueError(f"margin_init ({self.margin_init}) must lie inside margin_range ({low}, {high})")


__all__ = ["AffectVLMConfig", "BASIC_EMOTIONS", "DEFAULT_VIEWS"]
