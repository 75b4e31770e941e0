"""The server's process settings (songkhoe.runtime)."""

import gc
import sys

from songkhoe.runtime import SWITCH_INTERVAL_S, YOUNG_GENERATION_THRESHOLD, tune_for_server


def test_the_start_up_heap_is_frozen_young_collections_are_rarer_and_threads_switch_sooner():
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        tune_for_server()
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 20, 20)
        assert gc.get_freeze_count() > 10_000  # at least the imported modules' objects
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S < interval
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)
