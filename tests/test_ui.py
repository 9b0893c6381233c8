"""The demo's pure parts, without a server: zip safety, messages for bad input, zero-shot prompts, the predict
path on a tiny random model and on the bundled model, the page's construction and the `demo` command's flags."""

import dataclasses
import stat
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import tiny_model_and_processor

import affectvlm
from affectvlm.bundled import DEFAULT_MODEL, EXAMPLES
from affectvlm.cli import build_parser
from affectvlm.model import meshes_affectvlm
from affectvlm.ui import DemoLimits, InputError, bundled_examples
from affectvlm.ui.analysis import Reading, analyse_upload
from affectvlm.ui.archives import extract_frames, natural_key
from affectvlm.ui.handlers import analyse_handler
from affectvlm.ui.layout import build_demo
from affectvlm.ui.presentation import (
    FRAME_WEIGHT_SERIES, IDLE_STATUS, error_status, gallery_captions, status_markdown, timeline_frame,
)
from affectvlm.ui.prompts import parse_emotions

MESH_SUFFIXES = [".obj", ".ply"]


def _zip(path: Path, entries: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    """A .zip holding `entries` (name -> bytes)."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _refused(archive: Path, destination: Path, limits=DemoLimits()) -> str:
    with pytest.raises(InputError) as caught:
        extract_frames(archive, destination, limits, MESH_SUFFIXES)
    message = str(caught.value)
    assert message.startswith(f"{archive.name}: ")
    return message


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def face_bytes() -> bytes:
    return (EXAMPLES / "happiness.ply").read_bytes()


# --- zip safety -------------------------------------------------------------------------------------------------

def test_frames_come_out_in_natural_name_order_and_metadata_files_are_skipped(tmp_path, face_bytes):
    archive = _zip(tmp_path / "seq.zip", {"s/frame_10.ply": face_bytes, "s/frame_2.ply": face_bytes,
                                          "s/frame_1.ply": face_bytes, "__MACOSX/s/._frame_1.ply": b"x",
                                          "s/.hidden.ply": b"x", "s/notes.txt": b"hello"})
    frames = extract_frames(archive, tmp_path / "out", DemoLimits(), MESH_SUFFIXES)
    assert [frame.name for frame in frames] == ["frame_1.ply", "frame_2.ply", "frame_10.ply"]
    assert [path.name for path in _files_under(tmp_path / "out")] == [
        "frame_1.ply", "frame_10.ply", "frame_2.ply", "notes.txt"]
    assert natural_key("a9") < natural_key("a10") < natural_key("b1")


@pytest.mark.parametrize("entry, reason", [
    ("../escape.ply", "outside the archive"),
    ("frames/../../escape.ply", "outside the archive"),
    ("/tmp/escape.ply", "absolute path"),
    ("C:/escape.ply", "absolute path"),
    ("..\\escape.ply", "outside the archive"),
])
def test_entries_that_would_escape_the_folder_are_refused_before_anything_is_written(tmp_path, face_bytes, entry, reason):
    archive = _zip(tmp_path / "evil.zip", {"frame_0.ply": face_bytes, entry: face_bytes})
    message = _refused(archive, tmp_path / "out" / "frames")
    assert reason in message and repr(entry) in message
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.ply").exists()


def test_a_symbolic_link_entry_is_refused(tmp_path, face_bytes):
    link = zipfile.ZipInfo("frame_1.ply")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as archive:
        archive.writestr("frame_0.ply", face_bytes)
        archive.writestr(link, "/etc/passwd")
    assert "symbolic link" in _refused(tmp_path / "link.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path, face_bytes):
    archive = _zip(tmp_path / "bomb.zip", {"frame_0.ply": face_bytes, "frame_1.ply": bytes(20 * 1024 * 1024)})
    assert zipfile.ZipFile(archive).getinfo("frame_1.ply").compress_size < 50_000  # 20 MiB of zeros
    message = _refused(archive, tmp_path / "out")
    assert "zip bomb" in message and "'frame_1.ply'" in message
    assert not (tmp_path / "out").exists()


def test_an_entry_that_unpacks_to_more_than_its_header_declares_is_refused(tmp_path):
    archive = _zip(tmp_path / "liar.zip", {"frame_0.ply": bytes(2_000_000)})
    data = bytearray(archive.read_bytes())
    struct.pack_into("<I", data, 22, 1000)  # the local header's uncompressed size
    struct.pack_into("<I", data, data.index(b"PK\x01\x02") + 24, 1000)  # and the central directory's
    archive.write_bytes(bytes(data))
    assert "not a readable .zip archive (Bad CRC-32" in _refused(archive, tmp_path / "out")
    assert all(path.stat().st_size <= 1000 for path in _files_under(tmp_path / "out"))


def test_an_archive_that_unpacks_too_large_is_refused(tmp_path, face_bytes):
    archive = _zip(tmp_path / "big.zip", {f"frame_{index}.ply": face_bytes for index in range(4)},
                   compression=zipfile.ZIP_STORED)
    message = _refused(archive, tmp_path / "out", DemoLimits(max_archive_mb=1.0))
    assert "unpacks to 1.3 MiB, over the limit of 1.0 MiB" in message


def test_too_many_frames_or_entries_are_refused(tmp_path):
    archive = _zip(tmp_path / "long.zip", {f"frame_{index}.ply": b"ply" for index in range(6)})
    assert "6 frames, over the limit of 5" in _refused(archive, tmp_path / "a", DemoLimits(max_frames=5))
    assert "6 entries, over the limit of 4" in _refused(archive, tmp_path / "b", DemoLimits(max_archive_entries=4))


def test_a_zip_without_frames_a_duplicate_entry_and_a_non_zip_are_refused(tmp_path, face_bytes):
    assert "holds no mesh frames (.obj, .ply)" in _refused(_zip(tmp_path / "none.zip", {"a.txt": b"x"}), tmp_path / "a")
    twice = tmp_path / "twice.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(twice, "w") as archive:
        archive.writestr("f.ply", face_bytes)
        archive.writestr("f.ply", face_bytes)
    assert "appears twice" in _refused(twice, tmp_path / "b")
    (tmp_path / "fake.zip").write_bytes(b"not a zip at all")
    assert "not a readable .zip archive" in _refused(tmp_path / "fake.zip", tmp_path / "c")


# --- zero-shot emotions -----------------------------------------------------------------------------------------

def test_emotions_are_trimmed_deduplicated_and_bounded():
    assert parse_emotions("", 4) == [] and parse_emotions(None, 4) == [] and parse_emotions(" , ,", 4) == []
    assert parse_emotions(" happy,  very   sad,,Happy, bored ", 4) == ["happy", "very sad", "bored"]
    with pytest.raises(InputError, match="at least two.*'happy'"):
        parse_emotions("happy, HAPPY", 4)
    with pytest.raises(InputError, match="5 given, over the limit of 4"):
        parse_emotions("a, b, c, d, e", 4)
    with pytest.raises(InputError, match="longer than 40 characters"):
        parse_emotions("happy, " + "x" * 41, 4)


# --- the predict path -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_pair():
    return tiny_model_and_processor()


def _analyse(path, pair, tmp_path, limits=DemoLimits(), emotions=(), apex_frames=None):
    model, processor = pair
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    return analyse_upload(Path(path), model, processor, workdir, limits, Reading(tuple(emotions), apex_frames))


def _message(path, pair, tmp_path, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        _analyse(path, pair, tmp_path, **kwargs)
    return str(caught.value)


def test_a_face_gets_probabilities_view_weights_zero_shot_scores_views_and_a_glb(tiny_pair, tmp_path, example_face):
    analysis = _analyse(example_face, tiny_pair, tmp_path, emotions=["happy", "bored", "sad"])
    assert not analysis.is_sequence and len(analysis.frames) == 1 and analysis.shown_frame == 0
    assert set(analysis.overall.emotions) == set(tiny_pair[0].config.emotion_labels)
    for scores in (analysis.overall.emotions, analysis.overall.view_weights, analysis.overall.zero_shot):
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert list(analysis.overall.view_weights) == ["frontal", "left", "right"]
    assert list(analysis.overall.zero_shot) == ["happy", "bored", "sad"]
    assert [name for name, _ in analysis.views] == ["frontal", "left", "right"]
    assert analysis.views[0][1].size == (256, 256)
    assert analysis.viewer_glb[:4] == b"glTF" and not any((tmp_path / "work").iterdir())
    assert gallery_captions(analysis) == ["frontal", "left", "right"]  # mean fusion: equal by design, no numbers
    learned = dataclasses.replace(analysis, view_fusion="attention")
    assert gallery_captions(learned) == ["frontal 33%", "left 33%", "right 33%"]
    assert status_markdown(analysis, 0.25) == (f"`example_face.ply`: **{analysis.label}** "
                                               f"({analysis.overall.emotions[analysis.label]:.0%}); 9,409 vertices, "
                                               "18,461 triangles; 0.25 s")


def test_a_sequence_is_scored_per_frame_and_as_a_whole_by_the_model(tiny_pair, tmp_path, face_bytes):
    sad = (EXAMPLES / "sadness.ply").read_bytes()
    archive = _zip(tmp_path / "clip.zip", {"clip/f_1.ply": face_bytes, "clip/f_2.ply": sad, "clip/f_10.ply": face_bytes})
    analysis = _analyse(archive, tiny_pair, tmp_path)
    assert analysis.is_sequence
    assert [frame.name for frame in analysis.frames] == ["clip.zip/clip/f_1.ply", "clip.zip/clip/f_2.ply",
                                                         "clip.zip/clip/f_10.ply"]
    model, processor = tiny_pair
    with torch.no_grad():  # the page's sequence verdict is the model's own 4D forward pass
        frames = []
        for index, data in enumerate((face_bytes, sad, face_bytes)):  # f_1, f_2, f_10 in name order
            frames.append(tmp_path / f"frame{index}.ply")
            frames[-1].write_bytes(data)
        clip = processor(sequences=[[str(path) for path in frames]])["pixel_values"]
        expected = model(pixel_values=clip).logits.softmax(dim=-1)[0]
    for index, emotion in enumerate(model.config.emotion_labels):
        assert analysis.overall.emotions[emotion] == pytest.approx(float(expected[index]), abs=1e-5)
    peak = analysis.frames[analysis.shown_frame].emotions[analysis.label]
    assert peak == max(frame.emotions[analysis.label] for frame in analysis.frames)
    timeline = timeline_frame(analysis)
    assert list(timeline.columns) == ["frame", "emotion", "probability"]
    assert len(timeline) == 3 * len(analysis.overall.emotions) and sorted(set(timeline["frame"])) == [1, 2, 3]
    status = status_markdown(analysis, 1.0)
    assert "3 frames" in status and "mean pooling over the frames" in status
    assert f"frame {analysis.shown_frame + 1} (`clip/" in status
    assert FRAME_WEIGHT_SERIES not in set(timeline["emotion"])  # mean pooling weighs frames equally by design


def test_a_verdict_from_the_frames_around_the_apex_reads_those_frames_only(tmp_path, face_bytes):
    pair = tiny_model_and_processor(temporal_pooling="transformer")
    model, processor = pair
    sad = (EXAMPLES / "sadness.ply").read_bytes()
    names = [f"clip/f_{index}.ply" for index in range(1, 7)]  # neutral-ish start, the apex from frame 4 on
    contents = [face_bytes, face_bytes, face_bytes, sad, sad, sad]
    archive = _zip(tmp_path / "clip.zip", dict(zip(names, contents)))
    analysis = _analyse(archive, pair, tmp_path, apex_frames=2)
    assert analysis.apex_frames == 2 and len(analysis.frame_weights) == 6
    read = [index for index, weight in enumerate(analysis.frame_weights) if weight > 0]
    assert len(read) == 2 and read[0] >= 2  # around the frames that moved from the first, not at the start
    assert sum(analysis.frame_weights) == pytest.approx(1, abs=1e-5)
    with torch.no_grad():  # the verdict is the model's pooling of exactly those frames
        frames = []
        for index in read:
            frames.append(tmp_path / f"read{index}.ply")
            frames[-1].write_bytes(contents[index])
        expected = model(pixel_values=processor(sequences=[[str(path) for path in frames]])["pixel_values"])
    for position, emotion in enumerate(model.config.emotion_labels):
        assert analysis.overall.emotions[emotion] == pytest.approx(float(expected.logits.softmax(-1)[0, position]), abs=1e-5)
    assert f"2 frames around the apex (frames {read[0] + 1}-{read[-1] + 1})" in status_markdown(analysis, 1.0)
    (tmp_path / "again").mkdir()
    every = _analyse(archive, pair, tmp_path / "again")  # a fresh work folder, as every request gets
    assert every.apex_frames is None and all(weight > 0 for weight in every.frame_weights)


def test_a_learned_temporal_pooling_shows_where_it_looked_on_the_timeline(tmp_path, face_bytes):
    pair = tiny_model_and_processor(temporal_pooling="transformer")
    sad = (EXAMPLES / "sadness.ply").read_bytes()
    archive = _zip(tmp_path / "clip.zip", {"clip/f_1.ply": face_bytes, "clip/f_2.ply": sad, "clip/f_3.ply": sad})
    analysis = _analyse(archive, pair, tmp_path)
    assert len(analysis.frame_weights) == 3 and sum(analysis.frame_weights) == pytest.approx(1, abs=1e-5)
    looked = timeline_frame(analysis).query("emotion == @FRAME_WEIGHT_SERIES")
    assert list(looked["frame"]) == [1, 2, 3] and looked["probability"].max() == pytest.approx(1.0)
    top = max(range(3), key=lambda index: analysis.frame_weights[index])
    assert float(looked["probability"].iloc[top]) == pytest.approx(1.0)


def test_a_bad_mesh_is_named_by_its_upload_name_with_the_problem(tiny_pair, tmp_path):
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n")
    message = _message(broken, tiny_pair, tmp_path)
    assert message.startswith("broken.ply: cannot parse as a .ply mesh") and str(tmp_path) not in message


def test_unsupported_oversized_and_too_detailed_uploads_are_refused(tiny_pair, tmp_path, example_face):
    (tmp_path / "notes.txt").write_text("hello")
    message = _message(tmp_path / "notes.txt", tiny_pair, tmp_path)
    assert message.startswith("notes.txt: unsupported file type '.txt'") and ".ply" in message and ".zip" in message
    assert "over the upload limit of 0.1 MiB" in _message(example_face, tiny_pair, tmp_path,
                                                          limits=DemoLimits(max_upload_mb=0.1))
    assert "9409 vertices, over the limit of 1000" in _message(example_face, tiny_pair, tmp_path,
                                                               limits=DemoLimits(max_vertices=1000))


def test_a_bad_frame_in_a_sequence_is_named_inside_its_archive(tiny_pair, tmp_path, face_bytes):
    archive = _zip(tmp_path / "clip.zip", {"f_1.ply": face_bytes, "f_2.obj": b"v 0 0 0\nv 1 0 0\n"})
    assert _message(archive, tiny_pair, tmp_path) == "clip.zip/f_2.obj: mesh has no faces (a point cloud?)"


def test_formats_registered_after_import_are_accepted_at_call_time(tiny_pair, tmp_path, example_face, monkeypatch):
    monkeypatch.setitem(meshes_affectvlm.MESH_READERS, ".facex",
                        lambda path: meshes_affectvlm.load_mesh(example_face))
    (tmp_path / "scan.facex").write_bytes(b"anything")
    assert _analyse(tmp_path / "scan.facex", tiny_pair, tmp_path).source == "scan.facex"


def test_a_reader_error_never_shows_the_server_folder(tiny_pair, tmp_path, monkeypatch):
    def leaky_reader(path):
        raise meshes_affectvlm.MeshFormatError(f"{path}: its texture {path.with_suffix('.png')} is missing")

    monkeypatch.setitem(meshes_affectvlm.MESH_READERS, ".leaky", leaky_reader)
    (tmp_path / "scan.leaky").write_bytes(b"anything")
    assert _message(tmp_path / "scan.leaky", tiny_pair, tmp_path) == "scan.leaky: its texture scan.png is missing"


def test_the_bundled_model_reads_most_bundled_example_faces(tmp_path):
    from transformers import AutoModel, AutoProcessor

    bundled = (AutoModel.from_pretrained(DEFAULT_MODEL).eval(), AutoProcessor.from_pretrained(DEFAULT_MODEL))
    examples = {path.stem: path for path in bundled_examples()}
    assert {"surprise_sequence", "neutral", *bundled[0].config.emotion_labels} <= set(examples)
    # A guard against a broken bundled model (chance is 1 in 6), not a claim of accuracy: its card has that.
    right = [emotion for emotion in bundled[0].config.emotion_labels
             if _analyse(examples[emotion], bundled, tmp_path).label == emotion]
    assert len(right) >= 4, right
    assert examples["happiness"].stat().st_size < 400_000


def test_the_handler_cleans_up_and_leaves_only_the_viewer_file_in_gradios_cache(tiny_pair, tmp_path, monkeypatch):
    import gradio as gr

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the request folders go
    handler = analyse_handler(*tiny_pair, DemoLimits(), str(tmp_path / "cache"))
    outputs = handler(str(EXAMPLES / "surprise_sequence.zip"))  # the zero-shot text is optional
    assert len(outputs) == 7 and Path(outputs[0]).suffix == ".glb" and outputs[-1].startswith("`surprise_sequence.zip`")
    assert sorted(path.suffix for path in _files_under(tmp_path / "cache")) == [".glb", ".png", ".png", ".png"]
    again = handler(str(EXAMPLES / "surprise_sequence.zip"), "")
    # the same upload again gets files of its own: nothing a client may be downloading is rewritten
    assert again[0] != outputs[0] and Path(outputs[0]).read_bytes() == Path(again[0]).read_bytes()
    assert {Path(path).parent for path, _ in again[1]} == {Path(again[0]).parent}
    assert not list((tmp_path / "cache").rglob(".*.partial"))
    assert list((tmp_path / "tmp").iterdir()) == []
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(gr.Error) as caught:
        handler(str(tmp_path / "notes.txt"), "")
    assert caught.value.message.startswith("notes.txt: unsupported file type '.txt'")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert handler(None, "")[-1] == IDLE_STATUS


# --- the page and the command -----------------------------------------------------------------------------------

def test_build_demo_builds_a_queued_page_without_running_anything(tiny_pair):
    demo = build_demo(*tiny_pair, DemoLimits(concurrency=3))
    assert not demo.is_running and demo._queue.default_concurrency_limit == 3
    assert "analyse" in {dependency.api_name for dependency in demo.fns.values()}


def test_the_page_embeds_in_another_app(tiny_pair):
    import gradio as gr

    page = build_demo(*tiny_pair)
    with gr.Blocks() as host:
        gr.Markdown("another app")
        page.render()
    assert "analyse" in {dependency.api_name for dependency in host.fns.values()}


@pytest.mark.parametrize("class_scorer", ["prompts", "centroids"])
def test_build_demo_refuses_a_model_that_cannot_score_its_labels(class_scorer):
    config = tiny_model_and_processor()[0].config
    config.class_scorer = class_scorer
    with pytest.raises(ValueError, match="neither class prompts .* nor class centroids"):
        build_demo(affectvlm.AffectVLMModel(config), tiny_model_and_processor()[1])


def test_the_demo_command_maps_its_flags_onto_the_limits(capsys):
    args = build_parser().parse_args(["demo", "--max-frames", "7", "--max-upload-mb", "2.5", "--port", "8000"])
    assert (args.max_frames, args.max_upload_mb, args.port, args.host) == (7, 2.5, 8000, "127.0.0.1")
    assert args.model == str(DEFAULT_MODEL) and args.handler.__name__ == "demo"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: affectvlm demo") and "--max-compression-ratio" in help_text
