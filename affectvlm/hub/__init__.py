"""Publishing AffectVLM models to the Hugging Face Hub: model card, export, clean-process check, upload, Space.

Run it through scripts/push_to_hub.py; the template and default metadata of the card live in hub_card/.
"""

from .card import CardInputs, build_model_card, find_card_dir
from .export import EXPORT_MARKER, export_model, load_model_and_processor
from .folders import OutputFolderError
from .publish import export_and_check
from .push import HubRepo, upload_folder_to_hub
from .records import RecordError, load_results, load_training_summary
from .space import SPACE_HARDWARE, SPACE_MARKER, prepare_space
from .verify import EXAMPLE_FACE, ExportCheck, ExportCheckError, check_export

__all__ = [
    "CardInputs",
    "HubRepo",
    "EXAMPLE_FACE",
    "EXPORT_MARKER",
    "SPACE_HARDWARE",
    "SPACE_MARKER",
    "ExportCheck",
    "ExportCheckError",
    "OutputFolderError",
    "RecordError",
    "build_model_card",
    "check_export",
    "export_and_check",
    "export_model",
    "find_card_dir",
    "load_model_and_processor",
    "load_results",
    "load_training_summary",
    "prepare_space",
    "upload_folder_to_hub",
]
