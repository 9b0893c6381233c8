"""Readers and writers of the file formats real 3D/4D face datasets use (VRML, Bosphorus .bnt, .bnd/.lm3
landmarks, OBJ). Importing this package registers its mesh readers with `load_mesh`, so that the processor reads
`.wrl` and `.bnt` files; every problem with a file is a MeshFormatError "<path>: <problem>".

This package reads and writes formats only; it imports nothing from the data, synthetic or training layers.
"""

from ..model.meshes_affectvlm import register_mesh_reader
from .bnt import read_bnt, write_bnt_grid
from .landmarks import read_bnd, read_landmarks, read_lm3, write_bnd, write_lm3
from .obj import write_obj
from .vrml import read_vrml, write_vrml

register_mesh_reader([".wrl"], read_vrml)
register_mesh_reader([".bnt"], read_bnt)

__all__ = [
    "read_bnd", "read_bnt", "read_landmarks", "read_lm3", "read_vrml",
    "write_bnd", "write_bnt_grid", "write_lm3", "write_obj", "write_vrml",
]
