"""Synthetic subject attributes for prompts and file names: labels drawn from the subject seed, independent
of the geometry (the ICT identity modes do not encode age, sex or ancestry)."""

from __future__ import annotations

import numpy as np

from ..data.bu3dfe import ETHNICITY_CODES

GENDERS = ("female", "male")
AGE_GROUPS = ("young", "middle-aged", "older")


def subject_attributes(subject_seed: int) -> dict[str, str]:
    """Gender, age group and ethnicity code of a synthetic subject, fixed by its seed."""
    rng = np.random.default_rng([subject_seed, 7])
    return {
        "gender": str(rng.choice(GENDERS)),
        "age_group": str(rng.choice(AGE_GROUPS)),
        "ethnicity": str(rng.choice(ETHNICITY_CODES)),
    }


