"""The server's garbage-collector settings (songkhoe.runtime)."""

import gc

from songkhoe.runtime import YOUNG_GENERATION_THRESHOLD, tune_gc_for_server


def test_the_start_up_heap_is_frozen_and_young_collections_are_rarer():
    before = gc.get_threshold()
    try:
        tune_gc_for_server()
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 20, 20)
        assert gc.get_freeze_count() > 10_000  # at least the imported modules' objects
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
