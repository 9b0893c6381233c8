"""Synthetic 3D/4D faces with known emotions, from the ICT Face Model Light, and the writers that lay them out
in each real dataset's file formats and folders, to exercise readers, protocols and training.

    face_model, expressions, variation, attributes   the generator's parts
    faces, sequences, dynamics                        one face; a 4D sequence; its timeline (captured clips)
    texture, raster, range_scan                       what a scanner delivers: mm, uv + texture; a range grid
    request, writing, writers/, output                a dataset request, its writing, per-layout writers,
                                                      and the record that keeps other files safe

Real-dataset readers (affectvlm.data) never import this package; it imports them for the layouts' naming.
"""

from .attributes import AGE_GROUPS, GENDERS, subject_attributes
from .dynamics import CAPTURED_DYNAMICS, SequenceDynamics
from .expressions import (
    EMOTION_PROTOTYPES, EMOTION_RECIPES, INTENSITY_SCALE, RECIPE_SPLITS, Expression, Recipe, blended_recipe,
    draw_expression, expression_weights, partial_recipe, prototype_expression, recipe_weights,
)
from .face_model import face_model, identity_coefficients
from .faces import synthesize_expression, synthesize_face
from .request import DatasetRequest, SyntheticRequest
from .sequences import (
    SEQUENCE_PHASES, SEQUENCE_SUBJECT_SEED_OFFSET, SequenceClip, expression_envelope, synthesize_sequence,
)
from .variation import (
    DEFAULT_VARIATION, MIXED_SCAN_VARIATION, NO_VARIATION, PARTIAL_SCAN_VARIATION, SCAN_VARIATION, Variation,
    rotation_matrix,
)
from .writing import write_synthetic_dataset

__all__ = [
    "AGE_GROUPS", "CAPTURED_DYNAMICS", "DEFAULT_VARIATION", "EMOTION_PROTOTYPES", "EMOTION_RECIPES", "GENDERS", "INTENSITY_SCALE",
    "MIXED_SCAN_VARIATION", "NO_VARIATION", "PARTIAL_SCAN_VARIATION", "RECIPE_SPLITS", "SCAN_VARIATION", "SEQUENCE_PHASES",
    "SEQUENCE_SUBJECT_SEED_OFFSET", "DatasetRequest", "SequenceClip", "SequenceDynamics", "Expression", "Recipe",
    "SyntheticRequest", "Variation", "blended_recipe", "draw_expression", "expression_envelope", "expression_weights", "face_model",
    "identity_coefficients", "partial_recipe", "prototype_expression", "recipe_weights", "rotation_matrix", "subject_attributes",
    "synthesize_expression", "synthesize_face", "synthesize_sequence", "write_synthetic_dataset",
]
