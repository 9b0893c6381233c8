import pytest

from affectvlm import AffectVLMConfig
from conftest import tiny_config


def test_defaults_are_the_six_basic_emotions_and_three_views():
    config = tiny_config()
    assert config.emotion_labels == ["anger", "disgust", "fear", "happiness", "sadness", "surprise"]
    assert config.id2label[3] == "happiness" and config.label2id["surprise"] == 5
    assert [view["name"] for view in config.views] == ["frontal", "left", "right"]
    assert [view["yaw"] for view in config.views] == [0.0, 30.0, -30.0]
    assert config.num_views == 3
    assert config.image_size == config.vision_config.image_size == 32


def test_round_trip_through_json(tmp_path):
    config = tiny_config(view_fusion="attention", emotion_labels=["happiness", "sadness", "neutral"],
                         loss_weights={"cross_entropy": 1.0})
    config.save_pretrained(tmp_path)
    loaded = AffectVLMConfig.from_pretrained(tmp_path)
    assert loaded.view_fusion == "attention"
    assert loaded.emotion_labels == ["happiness", "sadness", "neutral"]
    assert loaded.id2label == {0: "happiness", 1: "sadness", 2: "neutral"}
    assert loaded.loss_weights == {"cross_entropy": 1.0}
    assert loaded.vision_config.hidden_size == 32


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"render_mode": "wireframe"}, "render mode"),
        ({"view_fusion": "max"}, "view_fusion"),
        ({"emotion_labels": ["happiness", "happiness"]}, "emotion_labels"),
        ({"emotion_labels": ["happiness"]}, "emotion_labels"),
        ({"loss_weights": {"focal": 1.0}}, "unknown loss term"),
        ({"loss_weights": {"triplet": -1.0}}, ">= 0"),
        ({"loss_weights": {"triplet": 0.0}}, "positive weight"),
        ({"margin_init": 1.5}, "margin_init"),
        ({"image_size": 64}, "image_size"),
        ({"views": [{"name": "up", "yaw": 0, "pitch": 120}]}, "pitch"),
        ({"views": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"views": [{"yaw": 10}]}, "each view"),
        ({"class_prompt_templates": ["a {color} face"]}, "template"),
        ({"projection_dim": 0}, "projection_dim"),
    ],
)
def test_wrong_values_are_refused_with_the_field_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_the_recorded_command_of_a_fine_tuning_run_parses_back_to_its_settings():
    from affectvlm.training.config import config_from_args
    from affectvlm.training.summary import config_command

    config = config_from_args(["--data-dir", "data/x", "--checkpoint", "runs/base/best", "--max-steps", "7"])
    command = config_command(config)
    assert "None" not in command and "--checkpoint runs/base/best" in command
    assert config_from_args(command.split()[3:]) == config
