"""The map's indicator cache is shared by the server's threads: many requests at once, for more
maps than it keeps, each get their values."""

import sys
import threading

import pytest

from songkhoe.ncd.figures import area_rate
from songkhoe.places.catalog import communes

THREADS, ROUNDS = 12, 6


@pytest.fixture
def busy_switching():
    """Threads take turns as often as the interpreter lets them (races show up)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_the_cache_serves_many_threads_at_once(store, busy_switching):
    compute = area_rate("htn_prevalence")
    maps = [{c.code: [c.code]} for c in communes("24")[:160]]  # more than the cache keeps
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def ask(offset: int) -> None:
        start.wait()
        for i in range(ROUNDS * len(maps)):
            areas = maps[(i * 7 + offset * 13) % len(maps)]
            try:
                assert compute(store.engine, areas, "2025-03") == {code: None for code in areas}
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
