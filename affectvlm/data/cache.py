"""Rendered-dataset cache: every sample's views rendered once, in worker processes, into a `datasets.Dataset`.

Rendering dominates the cost of an epoch on a CPU, and the views of a sample never change between epochs
or runs, so they are rendered once and saved with `save_to_disk`. The cache folder's name is a fingerprint
of everything that shapes the images: the render settings, the source code that reads and renders meshes,
and the CONTENT of every source file (meshes, textures, landmarks) with its label and metadata. Any change
gives a new fingerprint and a fresh build; a stale cache can never be reused. Builds go to a temporary
folder that is renamed into place at the end, so an interrupted build leaves no half-written cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..model.meshes_affectvlm import MeshLimits
from ..model.processing_affectvlm import RenderSettings as PixelSettings
from ..model.processing_affectvlm import render_faces, sample_frame_indices
from .samples import FaceSample, ReadProblems

logger = logging.getLogger(__name__)

CACHE_INFO = "affectvlm_cache.json"
# Source files whose code decides the pixels; their text is part of the fingerprint.
_PIXEL_CODE = ("model/meshes_affectvlm.py", "model/preprocessing_affectvlm.py", "model/processing_affectvlm.py",
               "model/rendering_affectvlm.py", "model/drawing_affectvlm.py", "model/rasterizer_affectvlm.py",
               "model/pyrender_affectvlm.py", "io", "data/loading.py", "data/cache.py")


@dataclass(frozen=True)
class RenderSettings(PixelSettings):
    """Everything about rendering that changes the pixels: the processor's, plus what a dataset row keeps."""

    mode: str = "shaded"
    size: int = 224
    max_frames: int | None = None  # sequences: keep at most this many frames, evenly spaced
    limits: MeshLimits = MeshLimits()

    @classmethod
    def from_processor(cls, processor: Any, max_frames: int | None = None) -> "RenderSettings":
        return cls(**vars(processor.render_settings), max_frames=max_frames, limits=processor.mesh_limits)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _code_digest() -> str:
    """A digest of the package code that reads and renders meshes (a fix to a reader re-renders)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for entry in _PIXEL_CODE:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def companion_files(sample: FaceSample) -> list[str]:
    """The sample's mesh files plus the files its metadata names: textures and landmarks, under keys ending
    in "_file" (one path) or "_files" (per frame)."""
    extra = []
    for key, value in sorted(sample.metadata.items()):
        if key.endswith("_file") and isinstance(value, str):
            extra.append(value)
        elif key.endswith("_files") and isinstance(value, (list, tuple)):
            extra += [item for item in value if isinstance(item, str)]
    return [*sample.files, *extra]


def _file_digest(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        return f"unreadable: {error.strerror}"  # rendering will report it; the build must not reuse it


def dataset_fingerprint(samples: Sequence[FaceSample], settings: RenderSettings) -> str:
    """One hash of the render settings, the pixel code and each sample's files (by content) and annotations."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings.as_json(), sort_keys=True, default=str).encode())
    digest.update(_code_digest().encode())
    for sample in samples:
        record = {
            "files": [[path, _file_digest(path)] for path in companion_files(sample)],
            "label": sample.label,
            "subject": sample.subject,
            "metadata": dict(sample.metadata),
        }
        digest.update(json.dumps(record, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def _features():
    import datasets

    return datasets.Features(
        {
            "views": datasets.Sequence(datasets.Image()),  # frames x views, frame-major
            "num_frames": datasets.Value("int32"),
            "label": datasets.Value("string"),
            "subject": datasets.Value("string"),
            "metadata": datasets.Value("string"),  # JSON: keys differ between datasets
            "key": datasets.Value("string"),
        }
    )


def _png(array: np.ndarray) -> dict[str, Any]:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def render_sample(sample: FaceSample, settings: RenderSettings) -> dict[str, Any]:
    """One dataset row: the sample's meshes loaded and rendered into PNG-encoded views."""
    from .loading import load_sample  # the dataset readers; imported here so that workers load them

    meshes = load_sample(sample, settings.limits)
    keep = settings.max_frames if settings.max_frames is not None and settings.max_frames < len(meshes) else None
    frames = [meshes[index] for index in sample_frame_indices(len(meshes), keep)]
    views = [_png(image) for frame in render_faces(frames, settings) for image in frame]  # frame-major
    return {
        "views": views,
        "num_frames": len(frames),
        "label": sample.label,
        "subject": sample.subject,
        "metadata": json.dumps(dict(sample.metadata), sort_keys=True, default=str),
        "key": sample.key,
    }


def _render_or_error(job: tuple[FaceSample, RenderSettings]) -> tuple[dict[str, Any] | None, str | None]:
    """Run in a worker: a row, or the error message naming the file (workers must not die on bad input)."""
    sample, settings = job
    try:
        return render_sample(sample, settings), None
    except Exception as error:  # every failure becomes one reported, skippable problem
        message = str(error)
        if sample.files[0] not in message:
            message = f"{sample.key}: {type(error).__name__}: {message}"
        return None, message


def _rows(
    samples: Sequence[FaceSample], settings: RenderSettings, workers: int, problems: ReadProblems, progress: bool
) -> Iterator[dict[str, Any]]:
    """Rendered rows in sample order, from a pool of spawned workers (a forked renderer would hang)."""
    from tqdm.auto import tqdm

    jobs = [(sample, settings) for sample in samples]
    bar = tqdm(total=len(jobs), desc="render views", unit="face", disable=not progress)
    if workers <= 0:
        results = map(_render_or_error, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(workers)
        results = pool.imap(_render_or_error, jobs, chunksize=1)
    try:
        for row, error in results:
            bar.update()
            if error is not None:
                problems.report(error)
                continue
            yield row
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()


class _BuildFailed(Exception):
    """Carries a reader's error through `datasets`, which wraps everything a generator raises."""


def _generate(samples, settings, workers, problems, progress):
    try:
        yield from _rows(samples, settings, workers, problems, progress)
    except Exception as error:
        raise _BuildFailed() from error


@dataclass(frozen=True)
class CacheBuild:
    """Where a rendered cache lives and how it is built. workers: rendering processes (default: all cores; 0
    renders in this process). on_error: "raise" stops at the first unreadable sample, "skip" leaves it out with
    a warning (the count is in the cache info)."""

    cache_dir: str | os.PathLike
    name: str = "rendered"
    workers: int | None = None
    on_error: str = "raise"
    progress: bool = True


def build_rendered_dataset(samples: Sequence[FaceSample], settings: RenderSettings, build: CacheBuild):
    """The rendered views of `samples` as a `datasets.Dataset`, loaded from the cache or built and saved."""
    import datasets

    samples = list(samples)
    if not samples:
        raise ValueError(f"no samples to render into the {build.name!r} cache")
    fingerprint = dataset_fingerprint(samples, settings)
    target = Path(build.cache_dir) / f"{build.name}-{fingerprint}"
    if (target / CACHE_INFO).exists():
        logger.info("reusing rendered cache %s", target)
    else:
        _build(samples, settings, build, target, fingerprint)
    return datasets.load_from_disk(str(target))


def _build(samples: list[FaceSample], settings: RenderSettings, build: CacheBuild, target: Path,
           fingerprint: str) -> None:
    """Render into a staging folder beside `target`, then rename it into place (atomic: complete or absent)."""
    import datasets

    workers = min((os.cpu_count() or 1) if build.workers is None else build.workers, len(samples))
    logger.info("rendering %d samples into %s with %d worker(s)", len(samples), target, workers)
    target.parent.mkdir(parents=True, exist_ok=True)
    problems = ReadProblems(build.on_error)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    bars_were_on = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # ours is the bar that counts faces
    try:
        dataset = _from_generator(samples, settings, workers, problems, build.progress, staging)
        if len(dataset) == 0:
            raise ValueError(f"every sample failed to render ({len(problems.skipped)} skipped); "
                             f"first: {problems.skipped[:1]}")
        dataset.save_to_disk(str(staging / "dataset"))
        info = {"fingerprint": fingerprint, "settings": settings.as_json(), "num_samples": len(dataset),
                "skipped": problems.skipped}
        (staging / "dataset" / CACHE_INFO).write_text(json.dumps(info, indent=2, default=str))
        os.replace(staging / "dataset", target)
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
        shutil.rmtree(staging, ignore_errors=True)
    if problems.skipped:
        logger.warning("%d sample(s) skipped while rendering %s", len(problems.skipped), build.name)


def _from_generator(samples, settings, workers: int, problems: ReadProblems, progress: bool, staging: Path):
    """The rows as an Arrow-backed dataset; a reader's error comes out as itself, not wrapped by `datasets`."""
    import datasets

    try:
        return datasets.Dataset.from_generator(
            _generate,
            features=_features(),
            # a tuple: `datasets` would split a list into shards and call the generator (a new pool) per shard
            gen_kwargs=dict(samples=tuple(samples), settings=settings, workers=workers, problems=problems,
                            progress=progress),
            cache_dir=str(staging / "arrow"),
            keep_in_memory=False,
        )
    except Exception as error:
        causes = _causes(error)
        failed = next((cause for cause in causes if isinstance(cause, _BuildFailed)), None)
        if failed is not None:
            raise failed.__cause__ from None
        unwritable = next((cause for cause in causes if isinstance(cause, OSError)), None)
        if unwritable is not None:  # a full disk, a read-only folder: `datasets` says only "an error occurred"
            raise OSError(unwritable.errno, f"cannot write the rendered cache in {staging.parent}: "
                                            f"{unwritable.strerror or unwritable}") from None
        raise


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from or during, outermost first."""
    chain = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def render_split(split: Any, settings: RenderSettings, build: CacheBuild) -> dict[str, Any]:
    """A protocol split's faces rendered as one cache and cut into "train", "validation" and "test" datasets.

    The samples go in key order, so every fold of a protocol (the same faces, dealt differently) and every
    evaluation of it finds the same cache instead of rendering the faces again.
    """
    samples = sorted(split.train + split.validation + split.test, key=lambda sample: sample.key)
    rendered = build_rendered_dataset(samples, settings, build)
    position = {key: index for index, key in enumerate(rendered["key"])}  # skipped samples are absent
    return {
        part: rendered.select([position[s.key] for s in getattr(split, part) if s.key in position])
        for part in ("train", "validation", "test")
    }


def cache_info(dataset_dir: str | os.PathLike) -> dict[str, Any]:
    """The settings, sample count and skipped files recorded with a rendered cache."""
    return json.loads((Path(dataset_dir) / CACHE_INFO).read_text())


def row_views(row: dict[str, Any], num_views: int) -> list[list[Image.Image]]:
    """A row's images as frames x views (a 3D face is one frame)."""
    images = row["views"]
    if len(images) != row["num_frames"] * num_views:
        raise ValueError(f"{row['key']}: {len(images)} images are not {row['num_frames']} frames x {num_views} views")
    return [images[frame * num_views : (frame + 1) * num_views] for frame in range(row["num_frames"])]
