"""The labels a dataset sample may carry: the model's emotions (one list, kept with the model config because
a Hub checkpoint's remote code needs it) plus neutral, which the datasets scan but the default classes leave out.
The order is the project's: it names classes, and the synthetic generator seeds its draws by position in it."""

from ..model.configuration_affectvlm import BASIC_EMOTIONS

EMOTIONS_WITH_NEUTRAL: tuple[str, ...] = (*BASIC_EMOTIONS, "neutral")
