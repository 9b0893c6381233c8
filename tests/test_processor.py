import json

import numpy as np
import pytest
import torch
import trimesh

from affectvlm import AffectVLMProcessor, MeshFormatError, load_mesh


def test_meshes_become_pixel_values_prompts_and_labels(tiny, example_face):
    _, processor = tiny
    batch = processor(meshes=[str(example_face), example_face], labels=["happiness", 4],
                      metadata=[{"gender": "female"}, None], prompt_seed=3)
    assert batch["pixel_values"].shape == (2, 3, 3, 32, 32)
    assert batch["pixel_values"].dtype == torch.float32
    assert batch["labels"].tolist() == [3, 4]
    assert batch["input_ids"].shape == batch["attention_mask"].shape and batch["input_ids"].shape[0] == 2
    again = processor(meshes=[str(example_face), example_face], labels=["happiness", 4],
                      metadata=[{"gender": "female"}, None], prompt_seed=3)
    assert torch.equal(batch["input_ids"], again["input_ids"])


def test_paths_trimesh_arrays_and_prerendered_views_give_the_same_pixels(tiny, example_face):
    _, processor = tiny
    mesh = trimesh.load(example_face, process=False)
    from_path = processor(meshes=str(example_face))["pixel_values"]
    from_trimesh = processor(meshes=mesh)["pixel_values"]
    from_arrays = processor(meshes=(np.asarray(mesh.vertices), np.asarray(mesh.faces)))["pixel_values"]
    views = processor.render(str(example_face))
    from_images = processor(images=[views])["pixel_values"]
    from_uint8 = processor(images=[np.stack([np.asarray(view) for view in views])])["pixel_values"]
    for other in (from_trimesh, from_arrays, from_images, from_uint8):
        assert torch.allclose(from_path, other, atol=1e-6)
    # three different views, not one image three times
    assert not torch.allclose(from_path[0, 0], from_path[0, 1])


def test_mistakes_get_clear_errors(tiny, example_face, tmp_path):
    _, processor = tiny
    with pytest.raises(ValueError, match="nothing to process"):
        processor()
    with pytest.raises(ValueError, match="pass one of `meshes`, `sequences`"):
        processor(meshes=str(example_face), images=[processor.render(str(example_face))])
    with pytest.raises(ValueError, match="unknown label 'joy'"):
        processor(meshes=str(example_face), labels=["joy"])
    with pytest.raises(ValueError, match="1 faces but 2 labels"):
        processor(meshes=str(example_face), labels=["fear", "fear"])
    with pytest.raises(ValueError, match="expects 3"):
        processor(images=[processor.render(str(example_face))[:2]])
    missing = tmp_path / "nobody.obj"
    with pytest.raises(MeshFormatError, match="nobody.obj"):
        processor(meshes=str(missing))


def test_render_settings_and_limits_are_saved_and_enforced(tiny, example_face, tmp_path):
    _, processor = tiny
    processor.render_mode = "depth"
    processor.max_vertices = 1000
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["render_mode"] == "depth" and saved["render_size"] == 32 and len(saved["views"]) == 3
    loaded = AffectVLMProcessor.from_pretrained(tmp_path)
    assert loaded.render_mode == "depth" and loaded.max_vertices == 1000
    with pytest.raises(MeshFormatError, match="example_face.ply"):
        loaded(meshes=str(example_face))  # 9,409 vertices > 1,000
    assert load_mesh(str(example_face)).vertices.shape == (9409, 3)


def test_prompts_alone_for_cached_views(tiny):
    _, processor = tiny
    batch = processor(labels=["fear", "anger", "fear"], prompt_seed=1)
    assert "pixel_values" not in batch and batch["labels"].tolist() == [2, 0, 2]
    assert batch["input_ids"].shape[0] == 3


def test_class_prompt_inputs_fit_the_model(tiny):
    model, processor = tiny
    inputs = processor.class_prompt_inputs()
    assert inputs["input_ids"].shape == model.class_input_ids.shape
    with pytest.raises(ValueError, match="shape"):
        model.set_class_prompts(inputs["input_ids"][:-1], inputs["attention_mask"][:-1])


def test_the_render_backend_is_saved_and_an_old_config_without_it_loads_the_default(tiny, example_face, tmp_path):
    _, processor = tiny
    assert processor.render_backend == "numba"
    processor.render_backend = "pyrender"
    processor.save_pretrained(tmp_path / "new")
    saved = json.loads((tmp_path / "new" / "processor_config.json").read_text())
    assert saved["render_backend"] == "pyrender"
    reloaded = AffectVLMProcessor.from_pretrained(tmp_path / "new")
    assert reloaded.render_backend == "pyrender"
    del saved["render_backend"]  # as written before the setting existed
    (tmp_path / "new" / "processor_config.json").write_text(json.dumps(saved))
    old = AffectVLMProcessor.from_pretrained(tmp_path / "new")
    assert old.render_backend == "numba"
    # both backends give the model the same pixels, to within anti-aliasing rounding
    drawn, reference = old(meshes=str(example_face))["pixel_values"], reloaded(meshes=str(example_face))["pixel_values"]
    assert (drawn - reference).abs().mean() < 0.02
    with pytest.raises(ValueError, match="render backend"):
        AffectVLMProcessor(old.image_processor, old.tokenizer, render_backend="opengl")
