"""Task types, one module each; importing this package registers them (and their data
formats and soft-target forms). See `base.py` for what a type owns."""

from mtdnn_allennlp.tasks.types import (  # noqa: F401  (registers the types)
    classification,
    masked_lm,
    multi_label,
    ranking,
    regression,
    sequence_labeling,
    span_extraction,
)
from mtdnn_allennlp.tasks.types.base import (
    DATA_FORMATS,
    SOFT_TARGET_FORMS,
    DataFormat,
    SoftTargetForm,
    TaskType,
    data_format,
    example_keys,
    soft_target_form_of,
)

__all__ = [
    "DATA_FORMATS",
    "SOFT_TARGET_FORMS",
    "DataFormat",
    "SoftTargetForm",
    "TaskType",
    "data_format",
    "example_keys",
    "soft_target_form_of",
]
