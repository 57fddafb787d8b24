"""Reading allennlp's metrics dictionaries (metrics.json, metrics_epoch_*.json) by task."""

from typing import Any, Dict


def prefixed_values(metrics: Dict[str, Any], prefix: str) -> Dict[str, float]:
    """The numeric values whose keys start with `prefix` (e.g. `validation_rte_`), keyed by the
    rest of the key (`accuracy`)."""
    return {
        key[len(prefix) :]: value
        for key, value in metrics.items()
        if key.startswith(prefix) and isinstance(value, (int, float))
    }
