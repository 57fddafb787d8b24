import os
from typing import Dict

from tests.conftest import FIXTURES, ROOT, TINY_BERT


def fixture_env() -> Dict[str, str]:
    """A benchmark run as a subprocess on the fixtures: the tiny encoder, offline."""
    return dict(
        os.environ,
        MTDNN_ENCODER=str(TINY_BERT),
        MTDNN_DATA=str(FIXTURES / "data"),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
    )
