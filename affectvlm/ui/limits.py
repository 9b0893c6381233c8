"""What the demo accepts: bounds on uploads, meshes, sequences and prompts, and the error for what it refuses.

Imports nothing heavy, so that the command line can build its flags from these fields without loading Gradio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.meshes_affectvlm import MeshLimits

_MB = 1024 * 1024


class InputError(ValueError):
    """An upload or prompt the demo refuses; the message, "<file>: <problem>", is shown to the visitor as is."""


@dataclass(frozen=True)
class DemoLimits:
    """Bounds that keep one visitor's upload from exhausting the server's memory, disk or time.

    Each field's metadata holds its command-line help (`affectvlm demo --max-frames 60 ...`).
    """

    max_upload_mb: float = field(default=100.0, metadata={"help": "largest uploaded file, in MiB"})
    max_vertices: int = field(default=500_000, metadata={"help": "most vertices in one mesh"})
    max_faces: int = field(default=1_000_000, metadata={"help": "most triangles in one mesh"})
    max_frames: int = field(default=120, metadata={"help": "most frames in a .zip sequence"})
    max_archive_entries: int = field(default=1_000, metadata={"help": "most entries in a .zip"})
    max_archive_mb: float = field(default=1024.0, metadata={"help": "largest total unpacked size of a .zip, in MiB"})
    max_compression_ratio: float = field(
        default=100.0, metadata={"help": "largest unpacked/packed size ratio of a .zip entry (zip bombs)"}
    )
    max_emotions: int = field(default=16, metadata={"help": "most zero-shot emotions in one request"})
    concurrency: int = field(default=4, metadata={"help": "requests analysed at once (worker threads, each with "
                                                          "its own renderer)"})

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"DemoLimits.{name} must be positive, got {value}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * _MB)

    @property
    def max_archive_bytes(self) -> int:
        return int(self.max_archive_mb * _MB)

    @property
    def mesh_limits(self) -> MeshLimits:
        """The limits every mesh (an upload or one frame of a sequence) is loaded under."""
        return MeshLimits(self.max_vertices, self.max_faces, max(self.max_upload_bytes, self.max_archive_bytes))


def megabytes(size: int) -> str:
    """A byte count for a visitor: '3.2 MiB'."""
    return f"{size / _MB:.1f} MiB"
