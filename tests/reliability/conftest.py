import pytest

from tests.conftest import run_allennlp
from tests.support.reliability import cli_env


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory):
    """A quickly trained RTE + SST-2 + STS-B model (smoke settings, tiny encoder)."""
    run = tmp_path_factory.mktemp("reliability_demo") / "run"
    run_allennlp(
        ["train", "training_config/demo.jsonnet", "-s", str(run)], env=cli_env(MTDNN_SMOKE="1")
    )
    return run / "model.tar.gz"
