from typing import Dict

from tests.conftest import FIXTURES, base_env


def fixture_env() -> Dict[str, str]:
    """A benchmark run as a subprocess on the fixtures (the tiny encoder, offline)."""
    return dict(base_env(), MTDNN_DATA=str(FIXTURES / "data"))
