"""AffectVLMModel: shared CLIP vision tower over rendered views, view fusion, CLIP text tower, joint space."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, CLIPModel, CLIPTextModel, CLIPTokenizer, CLIPVisionConfig, CLIPVisionModel, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput, logging

from .configuration_affectvlm import AffectVLMConfig
from .losses_affectvlm import AffectVLMLoss, LearnableMargin
from .pooling_affectvlm import AffectVLMTemporalTransformer, AffectVLMViewFusion, frame_pooling
from .prompts_affectvlm import class_prompts

logger = logging.get_logger(__name__)

# oneDNN's NHWC layout speeds a conv tower's convolutions on CPU from about 16 views up (the default model's
# tower, 96 px: 48 views 63 -> 52 ms, 24 views 33 -> 27; even at 12) and slows a single face (3 views 5.5 ->
# 8.7 ms); a training step of 48 faces gains 1.5x (scripts/benchmarks/train_step.py). GPUs keep the default.
CHANNELS_LAST_MIN_VIEWS = 16


@dataclass
class AffectVLMOutput(ModelOutput):
    """
    loss: the weighted sum of the configured loss terms (when labels are given and `return_loss` is not False).
    logits: (batch, num_labels) scaled cosine similarity of each face to each class embedding.
    view_embeds: (batch, views, dim) unit-norm embedding of every rendered view.
    face_embeds: (batch, dim) unit-norm fused face embedding.
    text_embeds: (batch, dim) unit-norm embedding of each face's prompt, when `input_ids` are given.
    class_embeds: (num_labels, dim) unit-norm class embeddings (prompt ensembles).
    view_weights: (batch, views) how much each view contributed to the face embedding (rows sum to 1).
    loss_terms: each active loss term, unweighted.
    4D input only (pixel_values of shape (batch, frames, views, 3, H, W)); then face_embeds, logits, view_embeds
    and view_weights describe the whole sequence (frames pooled by the learned or uniform frame weights):
    frame_embeds: (batch, frames, dim) unit-norm face embedding of every frame.
    frame_logits: (batch, frames, num_labels) each frame scored on its own.
    frame_weights: (batch, frames) how much each frame contributed to the sequence embedding (rows sum to 1).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    view_embeds: torch.FloatTensor | None = None
    face_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    class_embeds: torch.FloatTensor | None = None
    view_weights: torch.FloatTensor | None = None
    loss_terms: dict[str, torch.Tensor] | None = None
    frame_embeds: torch.FloatTensor | None = None
    frame_logits: torch.FloatTensor | None = None
    frame_weights: torch.FloatTensor | None = None


def _vision_tower(config) -> nn.Module:
    """CLIP's vision transformer, or any transformers vision backbone (ResNet, ConvNeXt...) from its config."""
    if isinstance(config, CLIPVisionConfig):
        return CLIPVisionModel._from_config(config)
    return AutoModel.from_config(config)


class AffectVLMPreTrainedModel(PreTrainedModel):
    config_class = AffectVLMConfig
    config: AffectVLMConfig
    base_model_prefix = "affectvlm"
    main_input_name = "pixel_values"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["CLIPTextEmbeddings", "CLIPEncoderLayer", "CLIPVisionEmbeddings"]
    _supports_sdpa = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The CLIP towers initialise themselves; this covers the parts AffectVLM adds."""
        factor = self.config.initializer_factor
        if isinstance(module, AffectVLMModel):
            vision_width = self.config.vision_width
            text_width = self.config.text_config.hidden_size
            init.normal_(module.visual_projection.weight, std=vision_width**-0.5 * factor)
            init.normal_(module.text_projection.weight, std=text_width**-0.5 * factor)
            init.constant_(module.logit_scale, self.config.logit_scale_init_value)
            init.zeros_(module.class_input_ids)
            init.zeros_(module.class_attention_mask)
            if module.config.class_scorer == "centroids":
                init.zeros_(module.class_centroids)
            # here, not on the fusion module: a module with no direct parameters is skipped by the init walk
            if module.view_fusion.mode == "attention":
                self._init_scorer(module.view_fusion.scorer)
            self.init_frame_pooling(module.temporal_pooling)
        elif isinstance(module, LearnableMargin):
            init.constant_(module.raw, module.initial_raw())

    def _init_scorer(self, scorer: nn.Sequential) -> None:
        init.normal_(scorer[0].weight, std=self.config.projection_dim**-0.5 * self.config.initializer_factor)
        init.zeros_(scorer[0].bias)
        init.zeros_(scorer[2].weight)  # starts as the uniform mean
        init.zeros_(scorer[2].bias)

    def init_frame_pooling(self, pooling: nn.Module) -> None:
        """A learned frame pooling starts as the mean (also a head trained apart from the model, on frozen frame
        embeddings): the scorer's last layer at zero; for the transformer also its residual branches and time
        projection."""
        if getattr(pooling, "mode", None) == "attention":
            self._init_scorer(pooling.scorer)
        if isinstance(pooling, AffectVLMTemporalTransformer):
            self._init_temporal_transformer(pooling)

    def _init_temporal_transformer(self, temporal: AffectVLMTemporalTransformer) -> None:
        self._init_scorer(temporal.scorer)
        std = self.config.projection_dim**-0.5 * self.config.initializer_factor
        for layer in temporal.encoder.layers:
            for linear in (layer.linear1, layer.linear2):
                init.normal_(linear.weight, std=std)
                init.zeros_(linear.bias)
            init.normal_(layer.self_attn.in_proj_weight, std=std)
            init.zeros_(layer.self_attn.in_proj_bias)
            for zeroed in (layer.linear2.weight, layer.self_attn.out_proj.weight, layer.self_attn.out_proj.bias):
                init.zeros_(zeroed)
            for norm in (layer.norm1, layer.norm2):
                init.ones_(norm.weight)
                init.zeros_(norm.bias)
        init.zeros_(temporal.time_projection.weight)
        init.zeros_(temporal.time_projection.bias)


class AffectVLMModel(AffectVLMPreTrainedModel):
    """Recognises the emotion of a face rendered into several views, by similarity to emotion prompts."""

    def __init__(self, config: AffectVLMConfig):
        super().__init__(config)
        self.vision_model = _vision_tower(config.vision_config)
        self.text_model = CLIPTextModel._from_config(config.text_config)
        self.visual_projection = nn.Linear(config.vision_width, config.projection_dim, bias=False)
        self.text_projection = nn.Linear(config.text_config.hidden_size, config.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))
        self.view_fusion = AffectVLMViewFusion(config)
        self.temporal_pooling = frame_pooling(config)
        self.loss_fn = AffectVLMLoss(config.loss_weights, config.margin_init, tuple(config.margin_range))
        prompts = len(config.emotion_labels) * len(config.class_prompt_templates)
        width = config.text_config.max_position_embeddings
        # Tokenised class prompts travel with the weights, so a loaded checkpoint classifies without a tokenizer.
        self.register_buffer("class_input_ids", torch.zeros(prompts, width, dtype=torch.long))
        self.register_buffer("class_attention_mask", torch.zeros(prompts, width, dtype=torch.long))
        if config.class_scorer == "centroids":  # trained without a text loss: classes are mean face embeddings
            self.register_buffer("class_centroids", torch.zeros(len(config.emotion_labels), config.projection_dim))
        self._class_cache: tuple[tuple, torch.Tensor] | None = None
        self.post_init()

    @classmethod
    def from_clip(cls, clip_name_or_path: str, **config_kwargs) -> "AffectVLMModel":
        """Start both towers, projections and logit scale from a pretrained transformers `CLIPModel`.

        The class prompts are tokenised with the CLIP checkpoint's own tokenizer.
        """
        clip = CLIPModel.from_pretrained(clip_name_or_path)
        config = AffectVLMConfig(
            vision_config=clip.config.vision_config.to_dict(),
            text_config=clip.config.text_config.to_dict(),
            projection_dim=clip.config.projection_dim,
            logit_scale_init_value=float(clip.logit_scale.detach()),
            **config_kwargs,
        )
        model = cls(config)
        for name in ("vision_model", "text_model", "visual_projection", "text_projection"):
            getattr(model, name).load_state_dict(getattr(clip, name).state_dict())
        with torch.no_grad():
            model.logit_scale.copy_(clip.logit_scale)
        tokenizer = CLIPTokenizer.from_pretrained(clip_name_or_path)
        prompts = class_prompts(config.emotion_labels, config.class_prompt_templates)
        tokens = tokenizer(
            prompts, padding="max_length", max_length=config.text_config.max_position_embeddings,
            truncation=True, return_tensors="pt",
        )
        model.set_class_prompts(tokens["input_ids"], tokens["attention_mask"])
        model.config._name_or_path = str(clip_name_or_path)
        return model

    def set_class_prompts(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        """Store the tokenised class prompts: labels x templates rows, label-major, padded to the text length."""
        expected = tuple(self.class_input_ids.shape)
        if tuple(input_ids.shape) != expected or tuple(attention_mask.shape) != expected:
            raise ValueError(
                f"class prompts must have shape {expected} (labels x templates, max_position_embeddings), "
                f"got {tuple(input_ids.shape)}; tokenize with padding='max_length'"
            )
        with torch.no_grad():
            self.class_input_ids.copy_(input_ids)
            self.class_attention_mask.copy_(attention_mask)
        self._class_cache = None

    def set_class_centroids(self, centroids: torch.Tensor) -> None:
        """Store one mean training-face embedding per label, the classes of a `class_scorer="centroids"` model."""
        if self.config.class_scorer != "centroids":
            raise ValueError("this model scores its classes by prompts; centroids need class_scorer='centroids'")
        if tuple(centroids.shape) != tuple(self.class_centroids.shape):
            raise ValueError(f"class centroids must have shape {tuple(self.class_centroids.shape)}, got {tuple(centroids.shape)}")
        with torch.no_grad():
            self.class_centroids.copy_(centroids)

    @property
    def has_class_prompts(self) -> bool:
        return bool((self.class_attention_mask.sum(dim=1) > 0).all())

    @property
    def has_classes(self) -> bool:
        """Whether the model can score its own labels: centroids stored, or prompts stored."""
        if self.config.class_scorer == "centroids":
            return bool((self.class_centroids.norm(dim=1) > 0).all())
        return self.has_class_prompts

    def class_logits(self, embeds: torch.Tensor, class_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """The one scorer: scaled cosine similarity of face (or frame, or sequence) embeddings to classes
        (the model's own labels, or `class_embeds` from `get_class_embeddings` with other prompts)."""
        classes = self.get_class_embeddings() if class_embeds is None else class_embeds
        return self.logit_scale.exp() * embeds @ classes.t()

    def get_text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Unit-norm prompt embeddings (n, dim). Trailing padding is trimmed: it cannot change the result."""
        if attention_mask is not None:
            length = int(attention_mask.sum(dim=1).max())
            input_ids, attention_mask = input_ids[:, :length], attention_mask[:, :length]
        pooled = self.text_model(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        return F.normalize(self.text_projection(pooled), dim=-1)

    def get_view_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Unit-norm embedding of every view (batch, views, dim), all views through the one shared tower."""
        if pixel_values.ndim != 5:
            raise ValueError(f"pixel_values must be (batch, views, 3, H, W), got shape {tuple(pixel_values.shape)}")
        batch, views = pixel_values.shape[:2]
        if views != self.config.num_views:
            raise ValueError(f"pixel_values has {views} views but the model is configured for {self.config.num_views}")
        flat = pixel_values.flatten(0, 1).to(self.visual_projection.weight.dtype)
        if (not isinstance(self.vision_model, CLIPVisionModel) and flat.device.type == "cpu"
                and len(flat) >= CHANNELS_LAST_MIN_VIEWS):
            flat = flat.contiguous(memory_format=torch.channels_last)
        chunk = self.config.frame_chunk_size * views  # bounded activations however long a sequence is
        pooled = torch.cat([self.vision_model(pixel_values=part).pooler_output.flatten(1) for part in flat.split(chunk)])
        return F.normalize(self.visual_projection(pooled), dim=-1).view(batch, views, -1)

    def _encode(self, pixel_values: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """Views -> face embedding for 3D input; frames x views -> frame and sequence embeddings for 4D."""
        if pixel_values.ndim != 6:
            view_embeds = self.get_view_features(pixel_values)
            face_embeds, view_weights = self.view_fusion(view_embeds)
            return {"view_embeds": view_embeds, "face_embeds": face_embeds, "view_weights": view_weights}
        batch, frames = pixel_values.shape[:2]
        frame_views = self.get_view_features(pixel_values.flatten(0, 1))  # (batch * frames, views, dim)
        frame_embeds, frame_view_weights = self.view_fusion(frame_views)
        frame_embeds = frame_embeds.view(batch, frames, -1)
        face_embeds, frame_weights = self.pool_frames(frame_embeds)
        # per-view embeddings of the sequence, pooled over frames alike, for the multiview losses
        view_embeds = F.normalize(
            torch.einsum("bt,btvd->bvd", frame_weights, frame_views.view(batch, frames, *frame_views.shape[1:])), dim=-1
        )
        view_weights = torch.einsum("bt,btv->bv", frame_weights, frame_view_weights.view(batch, frames, -1))
        return {"view_embeds": view_embeds, "face_embeds": face_embeds, "view_weights": view_weights,
                "frame_embeds": frame_embeds, "frame_weights": frame_weights}

    def pool_frames(self, frame_embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, frames, dim) frame embeddings -> (sequence embeddings, frame weights), by the model's temporal
        pooling: also for frames embedded apart (the Space embeds a long upload a few frames at a time)."""
        return self.temporal_pooling(frame_embeds)

    def get_face_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Unit-norm fused face embeddings (batch, dim); for 4D input, one per sequence."""
        return self._encode(pixel_values)["face_embeds"]

    def get_class_embeddings(
        self,
        class_input_ids: torch.Tensor | None = None,
        class_attention_mask: torch.Tensor | None = None,
        prompts_per_class: int | list[int] = 1,
    ) -> torch.Tensor:
        """One unit-norm embedding per class: the mean of its prompt embeddings, renormalised.

        Without arguments: the model's own labels (stored prompts x templates, or stored centroids). Given
        prompts: `prompts_per_class` consecutive rows make one class (e.g. one emotion's templates); a list gives
        each class its own count.
        Without gradients the stored prompts' embeddings are cached; the cache key follows every in-place change
        of the text tower's parameters (optimizer steps, load_state_dict) and of the stored prompts.
        """
        custom = class_input_ids is not None
        if custom:
            class_input_ids = class_input_ids.to(self.class_input_ids.device)
            class_attention_mask = None if class_attention_mask is None else class_attention_mask.to(class_input_ids.device)
        if not custom and self.config.class_scorer == "centroids":
            if not self.has_classes:
                raise ValueError("this model's class centroids are not set: see AffectVLMModel.set_class_centroids")
            return F.normalize(self.class_centroids, dim=-1)
        if not custom:
            if not self.has_class_prompts:
                raise ValueError(
                    "this model has no class prompts: call model.set_class_prompts(**processor.class_prompt_inputs())"
                    " or start it with AffectVLMModel.from_clip / from_pretrained"
                )
            class_input_ids, class_attention_mask = self.class_input_ids, self.class_attention_mask
        use_cache = not custom and not torch.is_grad_enabled()
        key = self._text_state_key() if use_cache else None
        if use_cache and self._class_cache is not None and self._class_cache[0] == key:
            return self._class_cache[1]
        embeds = self.get_text_features(class_input_ids, class_attention_mask)
        group = prompts_per_class if custom else len(self.config.class_prompt_templates)  # stored: labels x templates
        counts = list(group) if isinstance(group, (list, tuple)) else [group] * (len(embeds) // group)
        if sum(counts) != len(embeds):
            raise ValueError(f"{len(embeds)} prompts cannot be split into classes of {counts} prompts")
        if max(counts) > 1:
            embeds = F.normalize(torch.stack([part.mean(dim=0) for part in embeds.split(counts)]), dim=-1)
        if use_cache:
            self._class_cache = (key, embeds)
        return embeds

    def _text_state_key(self) -> tuple:
        tensors = [*self.text_model.parameters(), self.text_projection.weight, self.class_input_ids]
        return tuple((tensor.data_ptr(), tensor._version, tensor.dtype) for tensor in tensors)

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_loss: bool | None = None,
        class_input_ids: torch.Tensor | None = None,
        class_attention_mask: torch.Tensor | None = None,
        prompts_per_class: int | list[int] = 1,
        **kwargs,
    ) -> AffectVLMOutput:
        r"""
        pixel_values: (batch, views, 3, H, W) rendered views; or (batch, frames, views, 3, H, W) for 4D sequences,
            which are scored as a whole (frames pooled over time) and frame by frame (`frame_logits`).
        input_ids / attention_mask: one prompt per face (training), for the InfoNCE term and `text_embeds`.
        labels: (batch,) class indices; with them the loss is computed unless `return_loss=False`.
        class_input_ids / class_attention_mask / prompts_per_class: other classes for zero-shot scoring, as
            `processor.zero_shot_inputs` gives them (`prompts_per_class` consecutive prompts make one class).
        """
        encoded = self._encode(pixel_values)
        encoded["text_embeds"] = self.get_text_features(input_ids, attention_mask) if input_ids is not None else None
        encoded.update(self._score(encoded, class_input_ids, class_attention_mask, prompts_per_class))
        loss = loss_terms = None
        if labels is not None and return_loss is not False:
            loss, loss_terms = self._loss(encoded, labels)
        elif return_loss:
            raise ValueError("return_loss=True needs labels")
        fields = ("logits", "view_embeds", "face_embeds", "text_embeds", "class_embeds", "view_weights",
                  "frame_embeds", "frame_logits", "frame_weights")
        return AffectVLMOutput(loss=loss, loss_terms=loss_terms, **{name: encoded.get(name) for name in fields})

    def _score(self, encoded: dict, class_input_ids, class_attention_mask, prompts_per_class) -> dict:
        """Logits of faces (and frames) against the given classes or the model's own, when it has them."""
        if class_input_ids is None and not self.has_classes:
            if self.config.class_scorer == "prompts" and not getattr(self, "_warned_no_class_prompts", False):
                logger.warning("no classes are set, so no logits: see set_class_prompts / set_class_centroids")
                self._warned_no_class_prompts = True
            return {}
        class_embeds = self.get_class_embeddings(class_input_ids, class_attention_mask, prompts_per_class)
        frame_embeds = encoded.get("frame_embeds")
        return {
            "class_embeds": class_embeds,
            "logits": self.class_logits(encoded["face_embeds"], class_embeds),
            "frame_logits": None if frame_embeds is None else self.class_logits(frame_embeds, class_embeds),
        }

    def _loss(self, encoded: dict, labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        result = self.loss_fn(
            labels=labels,
            view_embeds=encoded["view_embeds"],
            face_embeds=encoded["face_embeds"],
            text_embeds=encoded["text_embeds"],
            logit_scale=self.logit_scale.exp(),
            class_logits=encoded.get("logits"),
        )
        return result.total, result.terms


__all__ = ["AffectVLMModel", "AffectVLMOutput", "AffectVLMPreTrainedModel"]
