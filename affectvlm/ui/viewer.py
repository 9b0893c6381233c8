"""What the visitor looks at: the face as a .glb for the 3D viewer, and its views rendered large enough to see.

The browser's 3D viewer reads .glb for every input format alike (PLY, OFF, WRL... it would not all read);
the views are rendered again at DISPLAY_SIZE because the model's own may be as small as 64 pixels.
"""

from __future__ import annotations

import trimesh
from PIL import Image

from ..model.meshes_affectvlm import FaceMesh
from ..model.rendering_affectvlm import normalize_mesh, render_views

DISPLAY_SIZE = 256


def glb_bytes(face: FaceMesh) -> bytes:
    """The face, centred and scaled to unit size, with its colours or texture, as binary glTF."""
    face = normalize_mesh(face)
    visual = None
    if face.uv is not None and face.texture is not None:
        visual = trimesh.visual.TextureVisuals(uv=face.uv, image=face.texture)
    elif face.vertex_colors is not None:
        visual = trimesh.visual.ColorVisuals(vertex_colors=face.vertex_colors)
    mesh = trimesh.Trimesh(face.vertices, face.faces, visual=visual, process=False)
    return mesh.export(file_type="glb", include_normals=True)


def display_views(face: FaceMesh, processor) -> list[tuple[str, Image.Image]]:
    """(view name, image) for each of the processor's views, in its render mode, at DISPLAY_SIZE pixels."""
    size = max(DISPLAY_SIZE, processor.render_size)
    images = render_views(face, processor.view_specs, mode=processor.render_mode, image_size=size)
    return [(view["name"], Image.fromarray(image)) for view, image in zip(processor.views, images)]
