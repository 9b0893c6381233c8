"""The comma-separated option values every script parses one way."""

import argparse

import pytest

from affectvlm.arguments import comma_list
from affectvlm.training.config import config_from_args


def test_comma_lists_strip_pieces_drop_blanks_and_convert():
    assert comma_list(int)(" 1, 2,,3 ") == [1, 2, 3]
    assert comma_list()("anger, happiness ,") == ["anger", "happiness"]
    assert comma_list(float)("8,4.5") == [8.0, 4.5]


def test_a_bad_piece_is_a_usage_error_that_names_it(capsys):
    parser = argparse.ArgumentParser(prog="script")
    parser.add_argument("--seeds", type=comma_list(int))
    with pytest.raises(SystemExit):
        parser.parse_args(["--seeds", "0,x,2"])
    error = capsys.readouterr().err
    assert "argument --seeds" in error and "'x' in '0,x,2' is not a valid int" in error


def test_train_options_take_comma_lists(capsys):
    config = config_from_args(["--data-dir", "d", "--labels", "anger, neutral", "--camera-jitter", "8,4,2"])
    assert config.labels == ["anger", "neutral"] and config.camera_jitter == [8.0, 4.0, 2.0]
    with pytest.raises(SystemExit):
        config_from_args(["--data-dir", "d", "--camera-jitter", "8,four"])
    assert "'four' in '8,four' is not a valid float" in capsys.readouterr().err
