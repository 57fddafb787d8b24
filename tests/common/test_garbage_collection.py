import gc

import pytest

from mtdnn_allennlp.common.garbage_collection import no_cyclic_gc


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_collector_is_off_inside_and_as_it_was_after(enabled_before):
    (gc.enable if enabled_before else gc.disable)()
    try:
        with pytest.raises(RuntimeError):
            with no_cyclic_gc():
                assert not gc.isenabled()
                raise RuntimeError("a failed read")
        assert gc.isenabled() == enabled_before
    finally:
        gc.enable()
