import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoProcessor

from affectvlm import AffectVLMModel
from conftest import tiny_config, tiny_model_and_processor


def _inputs(processor, example_face, faces=2):
    labels = ["happiness", "sadness"][:faces]
    return processor(meshes=[str(example_face)] * faces, labels=labels, prompt_seed=0)


def test_forward_shapes_unit_norms_and_view_weights(tiny, example_face):
    model, processor = tiny
    inputs = _inputs(processor, example_face)
    assert inputs["pixel_values"].shape == (2, 3, 3, 32, 32)
    out = model(**inputs)
    assert out.logits.shape == (2, 6)
    assert out.view_embeds.shape == (2, 3, 32)
    assert out.face_embeds.shape == out.text_embeds.shape == (2, 32)
    assert out.class_embeds.shape == (6, 32)
    for embeds in (out.view_embeds, out.face_embeds, out.text_embeds, out.class_embeds):
        assert torch.allclose(embeds.norm(dim=-1), torch.ones(embeds.shape[:-1]), atol=1e-5)
    assert torch.allclose(out.view_weights, torch.full((2, 3), 1 / 3))
    assert out.loss is not None and torch.isfinite(out.loss)
    assert set(out.loss_terms) == {"contrastive", "triplet", "infonce"}
    expected = torch.exp(model.logit_scale) * out.face_embeds @ out.class_embeds.T
    assert torch.allclose(out.logits, expected, atol=1e-5)


def test_return_loss_false_and_missing_labels(tiny, example_face):
    model, processor = tiny
    inputs = _inputs(processor, example_face)
    assert model(**inputs, return_loss=False).loss is None
    inputs.pop("labels")
    assert model(**inputs).loss is None
    with pytest.raises(ValueError, match="labels"):
        model(**inputs, return_loss=True)


def test_attention_fusion_starts_uniform_and_learns_weights(example_face):
    model, processor = tiny_model_and_processor(view_fusion="attention")
    pixels = processor(meshes=str(example_face))["pixel_values"]
    assert torch.allclose(model(pixel_values=pixels).view_weights, torch.full((1, 3), 1 / 3))
    with torch.no_grad():
        model.view_fusion.scorer[2].weight.normal_()
    weights = model(pixel_values=pixels).view_weights
    assert torch.allclose(weights.sum(-1), torch.ones(1)) and not torch.allclose(weights, torch.full((1, 3), 1 / 3))


def test_wrong_pixel_shapes_are_refused(tiny):
    model, _ = tiny
    with pytest.raises(ValueError, match="views"):
        model(pixel_values=torch.zeros(1, 2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(batch, views, 3, H, W\)"):
        model(pixel_values=torch.zeros(3, 3, 32, 32))


def test_without_class_prompts_there_are_no_logits_and_a_clear_error(example_face):
    model = AffectVLMModel(tiny_config()).eval()
    _, processor = tiny_model_and_processor()
    out = model(pixel_values=processor(meshes=str(example_face))["pixel_values"])
    assert out.logits is None and out.face_embeds is not None
    with pytest.raises(ValueError, match="set_class_prompts"):
        model.get_class_embeddings()


def test_class_embeddings_are_cached_and_refreshed_when_the_text_tower_changes(tiny):
    model, _ = tiny
    with torch.no_grad():
        first = model.get_class_embeddings()
        assert model.get_class_embeddings() is first
    optimizer = torch.optim.SGD(model.text_model.parameters(), lr=1.0)
    model.get_class_embeddings().sum().backward()  # with gradients: computed afresh, not cached
    optimizer.step()
    with torch.no_grad():
        refreshed = model.get_class_embeddings()
    assert refreshed is not first and not torch.allclose(refreshed, first)


def test_zero_shot_with_arbitrary_class_prompts(tiny, example_face):
    model, processor = tiny
    tokens = processor.tokenizer(["a calm face", "a smiling face", "a screaming face", "a face"],
                                 padding=True, return_tensors="pt")
    out = model(pixel_values=processor(meshes=str(example_face))["pixel_values"],
                class_input_ids=tokens["input_ids"], class_attention_mask=tokens["attention_mask"])
    assert out.logits.shape == (1, 4)


def test_save_and_load_through_the_auto_classes(tiny, example_face, tmp_path):
    model, processor = tiny
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    files = {path.name for path in tmp_path.iterdir()}
    assert {"model.safetensors", "config.json", "processor_config.json"} <= files
    assert {"modeling_affectvlm.py", "configuration_affectvlm.py", "processing_affectvlm.py",
            "rendering_affectvlm.py", "losses_affectvlm.py", "prompts_affectvlm.py", "meshes_affectvlm.py"} <= files
    assert AutoConfig.from_pretrained(tmp_path).model_type == "affectvlm"
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    loaded_processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is AffectVLMModel
    assert loaded_processor.views == processor.views and loaded_processor.render_size == 32
    assert torch.equal(loaded.class_input_ids, model.class_input_ids)
    with torch.no_grad():
        expected = model(**processor(meshes=str(example_face))).logits
        got = loaded(**loaded_processor(meshes=str(example_face))).logits
    assert torch.equal(got, expected)


def test_from_clip_starts_both_towers_from_a_clip_checkpoint(tmp_path, example_face):
    from transformers import CLIPConfig, CLIPModel

    import affectvlm

    torch.manual_seed(0)
    reference = tiny_config()
    clip = CLIPModel(CLIPConfig(vision_config=reference.vision_config.to_dict(),
                                text_config=reference.text_config.to_dict(), projection_dim=32,
                                logit_scale_init_value=3.0)).eval()
    clip.save_pretrained(tmp_path)
    affectvlm.clip_tokenizer().save_pretrained(tmp_path)
    model = AffectVLMModel.from_clip(str(tmp_path), view_fusion="attention").eval()
    assert model.config.view_fusion == "attention" and model.has_class_prompts
    assert torch.allclose(model.logit_scale, torch.tensor(3.0))
    for name, tensor in clip.vision_model.state_dict().items():
        assert torch.equal(model.vision_model.state_dict()[name], tensor)
    pixels = affectvlm.build_processor(model.config)(meshes=str(example_face))["pixel_values"]
    with torch.no_grad():
        ours = model.get_view_features(pixels)[0, 0]
        theirs = clip.get_image_features(pixel_values=pixels[:, 0]).pooler_output[0]
    assert torch.allclose(ours, theirs / theirs.norm(), atol=1e-5)


def test_a_centroid_scored_model_saves_and_reloads_its_classes(example_face, tmp_path):
    model, processor = tiny_model_and_processor(class_scorer="centroids")
    pixels = processor(meshes=str(example_face))["pixel_values"]
    assert not model.has_classes and model(pixel_values=pixels).logits is None  # centroids not set yet
    with pytest.raises(ValueError, match="set_class_centroids"):
        model.get_class_embeddings()
    centroids = torch.nn.functional.normalize(torch.randn(6, 32, generator=torch.Generator().manual_seed(0)), dim=-1)
    model.set_class_centroids(centroids)
    logits = model(pixel_values=pixels).logits
    assert torch.allclose(logits, model.logit_scale.exp() * model.get_face_features(pixels) @ centroids.T, atol=1e-5)
    model.save_pretrained(tmp_path)
    reloaded = AffectVLMModel.from_pretrained(tmp_path).eval()
    assert torch.allclose(reloaded(pixel_values=pixels).logits, logits, atol=1e-5)
    with pytest.raises(ValueError, match="class_scorer"):
        tiny_model_and_processor()[0].set_class_centroids(centroids)


def test_grouped_prompts_make_one_class_each(tiny):
    model, processor = tiny
    tokens = processor.tokenizer(["a calm face", "a relaxed face", "a smiling face"], padding=True, return_tensors="pt")
    with torch.no_grad():
        single = model.get_class_embeddings(tokens["input_ids"], tokens["attention_mask"])
        grouped = model.get_class_embeddings(tokens["input_ids"], tokens["attention_mask"], prompts_per_class=[2, 1])
    assert grouped.shape == (2, 32)
    assert torch.allclose(grouped[0], torch.nn.functional.normalize(single[:2].mean(dim=0), dim=-1), atol=1e-6)
    assert torch.allclose(grouped[1], single[2], atol=1e-6)
    with pytest.raises(ValueError, match="cannot be split"):
        model.get_class_embeddings(tokens["input_ids"], tokens["attention_mask"], prompts_per_class=2)


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"views": [{"name": "top", "pitch": 90.0}]}, "pitch must lie strictly between -90 and 90"),
    ({"render_mode": "wireframe"}, "unknown render mode 'wireframe'"),
    ({"loss_weights": {"triplet": -1.0}}, "loss weights must be >= 0"),
    ({"loss_weights": {"focal": 1.0}}, r"unknown loss term\(s\) \['focal'\]"),
])
def test_the_config_refuses_what_the_renderer_or_the_loss_would_refuse(overrides, problem):
    """One check per fact: a config is refused at construction with the renderer's and the loss's own words."""
    from conftest import tiny_config

    with pytest.raises(ValueError, match=problem):
        tiny_config(**overrides)


def test_a_conv_tower_takes_many_views_in_the_channels_last_layout_with_the_same_embeddings():
    """On CPU, a batch of many views is fed NHWC (faster convolutions), one face's few views NCHW (NHWC slows
    them); the embeddings are those of the plain layout either way."""
    from affectvlm.model.modeling_affectvlm import CHANNELS_LAST_MIN_VIEWS
    from affectvlm.training.models import build_model

    torch.manual_seed(0)
    model = build_model("conv-tiny")[0].eval()
    views = model.config.num_views
    layouts = []
    model.vision_model.register_forward_pre_hook(lambda module, args, kwargs: layouts.append(
        kwargs["pixel_values"].is_contiguous(memory_format=torch.channels_last)), with_kwargs=True)
    for faces in (1, -(-CHANNELS_LAST_MIN_VIEWS // views)):
        pixels = torch.rand(faces, views, 3, 32, 32)
        with torch.no_grad():
            plain = model.vision_model(pixel_values=pixels.flatten(0, 1).contiguous()).pooler_output.flatten(1)
            expected = torch.nn.functional.normalize(model.visual_projection(plain), dim=-1).view(faces, views, -1)
            assert torch.allclose(model.get_view_features(pixels), expected, atol=1e-5)
    assert layouts == [False, False, False, True]  # per face count: the plain call, then get_view_features
