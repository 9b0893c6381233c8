"""Dataset layouts: synthetic subjects written in each real layout are indexed back with the same labels,
subjects and metadata and load as the same meshes with landmarks and textures; misnamed, missing and corrupt
files stop a scan or are skipped (counted and warned about) by a flag; manifests and the BP4D task table work;
the writer never clobbers files it did not write."""

import importlib.util
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from affectvlm import render_views
from affectvlm.data.loading import load_sample, scan_dataset
from affectvlm.data.samples import DatasetReadError, ReadProblems
from affectvlm.model.meshes_affectvlm import MeshFormatError
from affectvlm.model.rendering_affectvlm import ViewSpec
from affectvlm.synthetic import (
    DEFAULT_VARIATION, DatasetRequest, SequenceClip, SyntheticRequest, subject_attributes, synthesize_face,
    synthesize_sequence,
    write_synthetic_dataset,
)
from affectvlm.synthetic.output import RECORD_NAME
from affectvlm.synthetic.writers import get_writer

SCRIPT = Path(__file__).parents[1] / "scripts" / "make_synthetic.py"
MM = 10.0  # the writers store millimetres; the synthetic model is in centimetres
FRAMES = 5
# layout -> (first subject seed, number of subjects, writer options); seeds 4 and 5 are a man and a woman
WRITES = {
    "bu3dfe": (4, 2, {"emotions": ["happiness", "neutral"], "intensities": [2]}),
    "bu4dfe": (5, 1, {"emotions": ["surprise"], "frames": FRAMES}),
    "bosphorus": (5, 1, {"emotions": ["anger", "neutral"], "grid_spacing": 3.0}),
    "bp4d+": (5, 1, {"emotions": ["disgust"], "frames": FRAMES}),
    "bp4d": (4, 1, {"emotions": ["fear"], "frames": FRAMES}),
    "folder": (4, 1, {"emotions": ["sadness"], "intensities": [3]}),
}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """layout -> (root, samples as written, subject id -> seed)."""
    written = {}
    for layout, (offset, count, options) in WRITES.items():
        root = tmp_path_factory.mktemp("datasets") / layout
        faces = SyntheticRequest(texture_size=32, **options)
        samples = write_synthetic_dataset(DatasetRequest(root, layout, count, faces, subject_seed_offset=offset))
        seeds = list(range(offset, offset + count))
        ids = get_writer(layout).subject_ids([subject_attributes(seed)["gender"] for seed in seeds])
        written[layout] = (root, samples, dict(zip(ids, seeds)))
    return written


def copy_of(datasets, layout, tmp_path) -> Path:
    return Path(shutil.copytree(datasets[layout][0], tmp_path / layout))


def synthetic_frames(sample, seed):
    """The synthetic meshes a written sample was made from."""
    if sample.is_sequence:
        return synthesize_sequence(seed, sample.label, SequenceClip(FRAMES), DEFAULT_VARIATION)
    intensity = sample.metadata.get("intensity")
    return [synthesize_face(seed, sample.label, intensity, DEFAULT_VARIATION)]


@pytest.mark.parametrize("layout", list(WRITES))
def test_written_datasets_are_indexed_back_as_written(datasets, layout):
    root, written, _ = datasets[layout]
    scanned = list(scan_dataset(root, layout))
    assert {sample.files: sample for sample in scanned} == {sample.files: sample for sample in written}
    assert list(scan_dataset(root, layout)) == scanned  # deterministic order
    if layout != "folder":  # the manifest's order otherwise
        assert [sample.subject for sample in scanned] == sorted(sample.subject for sample in scanned)


@pytest.mark.parametrize("layout", ["bu3dfe", "bu4dfe", "bp4d+", "bp4d", "folder"])
def test_meshes_load_back_with_positions_landmarks_and_textures(datasets, layout):
    root, _, seed_of = datasets[layout]
    for sample in scan_dataset(root, layout):
        meshes = load_sample(sample)
        originals = synthetic_frames(sample, seed_of[sample.subject])
        assert len(meshes) == len(sample.files) == len(originals)
        for frame, (mesh, original) in enumerate(zip(meshes, originals)):
            assert mesh.vertices.shape == original.vertices.shape
            np.testing.assert_allclose(mesh.vertices, original.vertices * MM, atol=1e-3)
            assert np.array_equal(mesh.faces, original.faces)
            assert mesh.texture is not None and mesh.uv.shape == (len(mesh.vertices), 2)
            assert mesh.metadata["label"] == sample.label and mesh.metadata["subject"] == sample.subject
            assert mesh.metadata.get("frame") == (frame if sample.is_sequence else None)
            if layout.startswith("bp4d"):
                assert mesh.landmarks is None  # BP4D ships its 3D features as separate .mat files
                continue
            expected = 83 if layout.startswith("bu") else len(original.landmarks)
            assert mesh.landmarks.shape == (expected, 3)
            np.testing.assert_allclose(mesh.landmarks[: len(original.landmarks)], original.landmarks * MM, atol=1e-3)


def test_bu3dfe_names_give_subject_expression_intensity_ethnicity_and_gender(datasets):
    root, _, seed_of = datasets["bu3dfe"]
    samples = list(scan_dataset(root, "bu3dfe"))
    assert [Path(sample.files[0]).parent.name for sample in samples] == ["F0001", "F0001", "M0001", "M0001"]
    happy = samples[0]
    ethnicity = subject_attributes(seed_of["F0001"])["ethnicity"]
    assert Path(happy.files[0]).name == f"F0001_HA02{ethnicity}_F3D.wrl"
    assert happy.label == "happiness" and happy.subject == "F0001"
    assert happy.metadata["intensity"] == 2 and happy.metadata["gender"] == "female"
    assert happy.metadata["ethnicity"] == ethnicity and happy.metadata["expression_code"] == "HA"
    assert happy.metadata["landmarks_file"].endswith("_F3D.bnd") and happy.metadata["texture_file"].endswith(".bmp")
    assert samples[1].label == "neutral" and samples[1].metadata["intensity"] == 0


def test_bosphorus_scans_read_back_on_the_surface_with_named_landmarks(datasets):
    root, _, seed_of = datasets["bosphorus"]
    sample = next(scan_dataset(root, "bosphorus"))
    assert Path(sample.files[0]).name == "bs000_E_ANGER_0.bnt" and sample.label == "anger"
    mesh = load_sample(sample)[0]
    original = synthesize_face(seed_of["bs000"], "anger", 4, DEFAULT_VARIATION)
    distance = np.sqrt(((mesh.vertices[::20, None] - original.vertices[None] * MM) ** 2).sum(-1)).min(axis=1)
    assert np.median(distance) < 3.0  # within the grid step (3 mm) of the synthetic surface
    assert mesh.texture is not None and len(mesh.metadata["landmark_names"]) == len(mesh.landmarks) == 20
    nose = mesh.metadata["landmark_names"].index("Nose tip")
    np.testing.assert_allclose(mesh.landmarks[nose], original.landmarks[30] * MM, atol=1e-3)


@pytest.mark.parametrize("layout", ["bosphorus", "bu4dfe"])
def test_a_read_back_mesh_renders_a_face(datasets, layout):
    sample = next(scan_dataset(datasets[layout][0], layout))
    mesh = load_sample(sample)[-1]
    for mode in ("texture", "shaded"):
        image = render_views(mesh, [ViewSpec("front")], mode=mode, image_size=32)[0]
        assert (image.max(axis=2) > 0).mean() > 0.2, mode


def test_bad_names_stop_a_scan_or_are_skipped_counted_and_warned(datasets, tmp_path, caplog):
    root = copy_of(datasets, "bu3dfe", tmp_path)
    good = next(root.glob("F0001/*_HA02*_F3D.wrl"))
    shutil.copy(good, root / "F0001" / "F0001_XX02WH_F3D.wrl")  # unknown expression
    shutil.copy(good, root / "F0001" / "scan.wrl")  # not a BU-3DFE name
    (root / "M0001" / "F0009_HA01WH_F3D.wrl").write_text("#VRML V2.0 utf8\n")  # in the wrong subject folder
    with pytest.raises(DatasetReadError, match="F0001_XX02WH_F3D.wrl: unknown expression code 'XX'"):
        list(scan_dataset(root, "bu3dfe"))
    problems = ReadProblems("skip")
    with caplog.at_level(logging.WARNING):
        samples = list(scan_dataset(root, "bu3dfe", on_error=problems))
    assert len(samples) == 4 and len(problems.skipped) == 3
    assert any("scan.wrl: name does not follow" in message for message in problems.skipped)
    assert any("belongs to subject F0009 but lies in folder M0001" in message for message in problems.skipped)
    assert "skipping" in caplog.text and "3 file(s) skipped" in caplog.text


def test_missing_companions_and_corrupt_meshes_are_reported_naming_the_file(datasets, tmp_path):
    root = copy_of(datasets, "bu3dfe", tmp_path)
    landmarks = next(root.glob("M0001/*_NE00*_F3D.bnd"))
    landmarks.unlink()
    with pytest.raises(DatasetReadError, match=f"{landmarks}: landmark file missing"):
        list(scan_dataset(root, "bu3dfe"))
    assert len(list(scan_dataset(root, "bu3dfe", on_error="skip"))) == 3
    assert len(list(scan_dataset(root, "bu3dfe", require_landmarks=False))) == 4
    mesh = next(root.glob("F0001/*_HA02*_F3D.wrl"))
    mesh.write_text(mesh.read_text()[:5000])  # truncated mid-way through the point list
    sample = next(scan_dataset(root, "bu3dfe"))  # scanning opens no mesh
    with pytest.raises(MeshFormatError, match=str(mesh)):
        load_sample(sample)
    bnd = next(root.glob("F0001/*_NE00*_F3D.bnd"))
    bnd.write_text("not landmarks\n")
    with pytest.raises(DatasetReadError, match=f"{bnd}: line 1"):
        load_sample(list(scan_dataset(root, "bu3dfe", require_landmarks=False))[1])


def test_bosphorus_other_scans_are_indexed_unlabelled_or_left_out(datasets, tmp_path):
    root = copy_of(datasets, "bosphorus", tmp_path)
    scan = root / "bs000" / "bs000_E_ANGER_0.bnt"
    for name in ("bs000_LFAU_12_0", "bs000_YR_R10_0", "bs000_O_GLASSES_0"):
        shutil.copy(scan, root / "bs000" / f"{name}.bnt")
    samples = {Path(sample.files[0]).stem: sample for sample in scan_dataset(root, "bosphorus")}
    assert samples["bs000_LFAU_12_0"].label is None and samples["bs000_LFAU_12_0"].metadata["category"] == "action_unit"
    assert samples["bs000_YR_R10_0"].metadata["category"] == "pose"
    assert samples["bs000_O_GLASSES_0"].metadata["category"] == "occlusion"
    assert samples["bs000_N_N_0"].label == "neutral"
    assert [sample.label for sample in scan_dataset(root, "bosphorus", emotions_only=True)] == ["anger", "neutral"]
    shutil.copy(scan, root / "bs000" / "bs000_E_CONTEMPT_0.bnt")
    with pytest.raises(DatasetReadError, match="bs000_E_CONTEMPT_0.bnt: unknown emotion 'CONTEMPT'"):
        list(scan_dataset(root, "bosphorus"))
    (root / "bs000" / "bs000_E_CONTEMPT_0.bnt").unlink()
    (root / "bs000" / "bs000_N_N_0.bnt").write_bytes(b"\x01\x00")  # truncated
    neutral = [sample for sample in scan_dataset(root, "bosphorus") if sample.label == "neutral"][0]
    with pytest.raises(MeshFormatError, match="bs000_N_N_0.bnt: truncated"):
        load_sample(neutral)


def test_bu4dfe_frames_folders_and_separate_landmarks(datasets, tmp_path):
    root = copy_of(datasets, "bu4dfe", tmp_path)
    sequence = next(scan_dataset(root, "bu4dfe"))
    assert sequence.label == "surprise" and sequence.subject == "F001" and sequence.is_sequence
    assert [Path(file).name for file in sequence.files] == [f"{frame:03d}.wrl" for frame in range(FRAMES)]
    assert sequence.metadata["frame_count"] == FRAMES and sequence.metadata["fps"] == 25.0
    # landmarks in their own tree, as BU4DFE_BND_V1.1 ships them
    landmarks_root = tmp_path / "bnd"
    for path in root.rglob("*.bnd"):
        target = landmarks_root / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    assert "landmarks_files" not in next(scan_dataset(root, "bu4dfe")).metadata
    moved = next(scan_dataset(root, "bu4dfe", landmarks_root=landmarks_root))
    assert all(mesh.landmarks.shape == (83, 3) for mesh in load_sample(moved))
    shutil.copytree(root / "F001" / "Surprise", root / "F001" / "Contempt")
    (root / "F001" / "Surprise" / "first.wrl").write_text("#VRML V2.0 utf8\n")
    problems = ReadProblems("skip")
    assert len(list(scan_dataset(root, "bu4dfe", on_error=problems))) == 1
    assert sorted(message.split(": ")[1].split(";")[0] for message in problems.skipped) == [
        "frame name is not a frame number", "unknown expression folder 'Contempt'"]


def test_bp4d_task_table_can_be_overridden(datasets, tmp_path):
    root = copy_of(datasets, "bp4d+", tmp_path)
    sequence = next(scan_dataset(root, "bp4d+"))
    assert (sequence.label, sequence.metadata["task"]) == ("disgust", "T10")
    assert sequence.metadata["dataset"] == "BP4D+" and "odour" in sequence.metadata["elicitation"]
    assert next(scan_dataset(root, "bp4d+", task_emotions={"T10": "anger"})).label == "anger"
    assert next(scan_dataset(root, "bp4d+", task_emotions={"T10": None})).label is None
    with pytest.raises(ValueError, match="'joy' is not an emotion"):
        scan_dataset(root, "bp4d+", task_emotions={"T10": "joy"})
    shutil.copytree(root / "F001" / "T10", root / "F001" / "T11")
    with pytest.raises(DatasetReadError, match="T11: unknown task 'T11'"):
        list(scan_dataset(root, "bp4d+"))
    labels = [sample.label for sample in scan_dataset(root, "bp4d+", task_emotions={"T11": "happiness"})]
    assert labels == ["disgust", "happiness"]
    spontaneous = next(scan_dataset(datasets["bp4d"][0], "bp4d"))
    assert (spontaneous.label, spontaneous.metadata["task"]) == ("fear", "T5")


def test_manifests_list_files_sequences_and_report_bad_rows(datasets, tmp_path, caplog):
    root = copy_of(datasets, "folder", tmp_path)
    mesh = next(root.glob("meshes/*/*.obj")).relative_to(root).as_posix()
    bnd = mesh.replace(".obj", ".bnd")
    frames = root / "clip"
    frames.mkdir()
    for number in (2, 10, 1):  # frame order by number, not by name
        shutil.copy(root / mesh, frames / f"{number}.obj")
    (root / "manifest.csv").write_text(
        "path,label,subject,intensity,metadata\n"
        f'{mesh},Happiness,S1,3,"{{""landmarks_file"": ""{bnd}""}}"\n'
        "meshes/absent.obj,fear,S1,,\n"
        f"{mesh},joy,S2,,\n"
        f"clip,,S3,,\n"
    )
    with pytest.raises(DatasetReadError, match=r"absent.obj: file not found \(manifest.csv row 2\)"):
        list(scan_dataset(root, "folder"))
    problems = ReadProblems("skip")
    samples = list(scan_dataset(root, "folder", on_error=problems))
    assert len(problems.skipped) == 2 and "unknown label 'joy'" in problems.skipped[1]
    first, clip = samples
    assert first.label == "happiness" and first.metadata["intensity"] == 3
    assert load_sample(first)[0].landmarks.shape == (68, 3)
    assert clip.label is None and [Path(file).stem for file in clip.files] == ["1", "2", "10"]
    (root / "manifest.json").write_text(
        f'[{{"path": ["{mesh}", "{mesh}"], "label": "surprise", "subject": "S4", "metadata": {{"take": 2}}}}]'
    )
    (root / "manifest.csv").unlink()
    (sequence,) = scan_dataset(root, "folder")
    assert sequence.is_sequence and sequence.metadata == {"take": 2}
    (root / "manifest.json").write_text('[{"label": "fear"}]')
    with pytest.raises(DatasetReadError, match="entry 1 lacks"):
        list(scan_dataset(root, "folder"))


def test_the_writer_never_clobbers_files_it_did_not_write(tmp_path):
    faces = SyntheticRequest(emotions=["neutral"], texture_size=16)
    root = tmp_path / "out"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        write_synthetic_dataset(DatasetRequest(root, "folder", 1, faces))
    first = write_synthetic_dataset(DatasetRequest(root, "folder", 1, faces, overwrite=True))
    assert (root / RECORD_NAME).is_file() and (root / "notes.txt").read_text() == "mine"
    again = write_synthetic_dataset(DatasetRequest(root, "folder", 1, faces, overwrite=True))  # its own: replaced
    assert again == first
    foreign = root / "meshes" / "S002" / "S002_neutral_0.obj"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("someone else's")
    with pytest.raises(RuntimeError, match="S002_neutral_0.obj: exists and was not written by this tool"):
        write_synthetic_dataset(DatasetRequest(root, "folder", 2, faces, overwrite=True))
    assert foreign.read_text() == "someone else's" and (root / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="holds the emotions"):
        write_synthetic_dataset(DatasetRequest(tmp_path / "other", "bu4dfe", 1, SyntheticRequest(emotions=["neutral"])))


def test_command_line_writes_a_dataset_with_progress(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("make_synthetic", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    help_text = capsys.readouterr().out
    for option in ("--layout", "--out", "--subjects", "--subject-seed-offset", "--emotions", "--intensities",
                   "--frames", "--fps", "--variation", "--seed", "--workers", "--overwrite"):
        assert option in help_text
    out = tmp_path / "cli"
    argv = ["--layout", "bosphorus", "--out", str(out), "--subjects", "2", "--emotions", "happiness",
            "--variation", "off", "--texture-size", "16", "--workers", "2"]
    assert script.main(argv) == 0
    assert sorted(path.name for path in out.glob("*/*.bnt")) == ["bs000_E_HAPPY_0.bnt", "bs001_E_HAPPY_0.bnt"]
    assert "wrote 2 samples" in capsys.readouterr().out
    assert script.main(argv) == 2  # the folder is no longer empty
    assert "not empty" in capsys.readouterr().err
