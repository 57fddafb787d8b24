"""The reading path gives the batches it gave before, bit for bit, read or from the cache.

fixtures/golden/reader_batches.json holds the digests of every tensor the golden config's
readers make from the fixtures (scripts/make_golden_batches.py), written with the reading code
of dd47725, before the reading path was rewritten for speed (issue 14: batched tokenisation, word
pieces as id arrays). Any change of a token id, segment id, mask, label, tensor or metadata
value changes a digest.
"""

import json

import pytest

from scripts.make_golden_batches import GOLDEN, batch_digests, encoders

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def golden_encoders(tmp_path_factory):
    return encoders(tmp_path_factory.mktemp("golden_encoders"))


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_readers_make_the_recorded_batches(family, golden_encoders, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expected = json.loads(GOLDEN.read_text())[family]
    assert batch_digests(golden_encoders[family]) == expected
    # The tokenisation cache gives the same batches: when it fills, and when it is read.
    cache = str(tmp_path / "cache")
    assert batch_digests(golden_encoders[family], cache_directory=cache) == expected
    assert any((tmp_path / "cache").iterdir())
    assert batch_digests(golden_encoders[family], cache_directory=cache) == expected
