"""The rendered-dataset cache: built by real worker processes, reused, and never stale."""

import errno
import json
import time
from pathlib import Path

import pytest

from affectvlm.data.cache import CACHE_INFO, CacheBuild, RenderSettings, build_rendered_dataset, cache_info, row_views
from affectvlm.data.loading import scan_dataset
from affectvlm.data.samples import DatasetReadError
from affectvlm.model.meshes_affectvlm import MeshFormatError
from affectvlm.model.rendering_affectvlm import ViewSpec
from affectvlm.synthetic import DatasetRequest, SyntheticRequest, write_synthetic_dataset

SETTINGS = RenderSettings((ViewSpec("frontal"), ViewSpec("left", 30.0)), "shaded", 24)


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bu3dfe")
    write_synthetic_dataset(DatasetRequest(root, "bu3dfe", 2, SyntheticRequest(
        emotions=("anger", "happiness"), intensities=(4,), texture_size=16)))
    return root


def _samples(root: Path):
    return list(scan_dataset(root, "bu3dfe"))


def _caches(cache_dir: Path) -> list[Path]:
    return sorted(path for path in cache_dir.iterdir() if (path / CACHE_INFO).exists())


def test_worker_processes_render_every_view_and_the_cache_is_reused(dataset_root, tmp_path):
    samples = _samples(dataset_root)
    built = build_rendered_dataset(samples, SETTINGS, CacheBuild(tmp_path, "bu", workers=2, progress=False))
    assert len(built) == len(samples) == 4
    row = built[0]
    assert row["label"] == samples[0].label and row["subject"] == samples[0].subject
    assert json.loads(row["metadata"])["intensity"] == 4
    (views,) = row_views(row, 2)
    assert [image.size for image in views] == [(24, 24)] * 2
    assert max(views[0].getextrema()[0]) > 0  # a face, not a blank frame
    [cache] = _caches(tmp_path)
    assert cache_info(cache)["num_samples"] == 4 and cache_info(cache)["skipped"] == []

    started = time.perf_counter()
    again = build_rendered_dataset(samples, SETTINGS, CacheBuild(tmp_path, "bu", workers=2, progress=False))
    assert time.perf_counter() - started < 5  # loaded, not re-rendered with fresh worker processes
    assert _caches(tmp_path) == [cache] and again["key"] == built["key"]


def test_changed_settings_or_source_file_never_reuse_a_stale_cache(dataset_root, tmp_path):
    samples = _samples(dataset_root)[:2]
    build_rendered_dataset(samples, SETTINGS, CacheBuild(tmp_path, workers=0, progress=False))
    build_rendered_dataset(samples, RenderSettings(SETTINGS.views, "depth", 24), CacheBuild(tmp_path, workers=0, progress=False))
    assert len(_caches(tmp_path)) == 2

    texture = Path(samples[0].metadata["texture_file"])  # a companion file, not the mesh itself
    original = texture.read_bytes()
    try:
        texture.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same size, other content
        build_rendered_dataset(samples, SETTINGS, CacheBuild(tmp_path, workers=0, progress=False))
        assert len(_caches(tmp_path)) == 3
    finally:
        texture.write_bytes(original)


def test_a_corrupt_mesh_is_skipped_and_counted_or_stops_the_build(dataset_root, tmp_path, caplog):
    samples = _samples(dataset_root)
    broken_root = tmp_path / "broken"
    broken_root.mkdir()
    broken = broken_root / "F9999_AN04WH_F3D.wrl"
    broken.write_text("#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0 ] }\n")
    bad_sample = type(samples[0])((str(broken),), "anger", "F9999", {})
    mixed = [bad_sample, *samples[:2]]

    with pytest.raises((MeshFormatError, DatasetReadError), match="F9999_AN04WH_F3D.wrl"):
        build_rendered_dataset(mixed, SETTINGS, CacheBuild(tmp_path / "cache", workers=0, progress=False))
    cache_dir = tmp_path / "cache"
    assert not _caches(cache_dir) and not list(cache_dir.glob(".*"))  # nothing half-written is left

    built = build_rendered_dataset(mixed, SETTINGS, CacheBuild(cache_dir, workers=0, on_error="skip", progress=False))
    assert len(built) == 2
    assert any("skipping" in record.message and "F9999" in record.message for record in caplog.records)
    [cache] = _caches(cache_dir)
    assert len(cache_info(cache)["skipped"]) == 1 and "F9999_AN04WH_F3D.wrl" in cache_info(cache)["skipped"][0]



def test_a_cached_face_gives_exactly_the_pixels_the_processor_gives(dataset_root, tmp_path):
    """One pixel path: processor(meshes=...) and cache -> training dataset (augmentation off) agree exactly,
    for the aligned face crop the default model uses."""
    import torch

    from affectvlm import build_processor
    from affectvlm.training.data import RenderedFaces
    from conftest import tiny_config

    processor = build_processor(tiny_config(face_preprocessing=True, render_mode="normals",
                                            emotion_labels=["anger", "happiness"]))
    samples = _samples(dataset_root)
    rendered = build_rendered_dataset(samples, RenderSettings.from_processor(processor),
                                      CacheBuild(tmp_path, workers=0, progress=False))
    cached = RenderedFaces(rendered, ["anger", "happiness"], processor)
    for index, sample in enumerate(samples):
        direct = processor(meshes=sample.files[0])["pixel_values"][0]
        assert cached[index]["pixel_values"].dtype == direct.dtype
        assert torch.equal(cached[index]["pixel_values"], direct), sample.key
        assert direct.std() > 0.1  # a real face, not two blank images


def test_a_full_disk_is_named_as_such_not_as_a_generic_dataset_error(dataset_root, tmp_path, monkeypatch):
    from datasets.arrow_writer import ArrowWriter

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ArrowWriter, "write", disk_full)
    cache_dir = tmp_path / "cache"
    with pytest.raises(OSError, match=f"cannot write the rendered cache in {cache_dir}: No space left on device"):
        build_rendered_dataset(_samples(dataset_root)[:2], SETTINGS, CacheBuild(cache_dir, workers=0, progress=False))
    assert not _caches(cache_dir) and not list(cache_dir.glob(".*"))  # nothing half-written is left
