"""reviewapp.caching: the per-process caches behind the active model, the kill switch and API keys."""

from reviewapp import caching


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_refreshed_value_is_loaded_at_most_once_per_period(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(caching.time, "monotonic", clock)
    loads = []
    value = caching.RefreshedValue(lambda: loads.append(1) or len(loads), seconds=lambda: 60)

    assert [value.get() for _ in range(3)] == [1, 1, 1]
    clock.now += 59.9
    assert value.get() == 1
    clock.now += 0.1

    assert value.get() == 2


def test_a_refreshed_value_reads_its_period_at_each_call_and_reloads_once_cleared(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(caching.time, "monotonic", clock)
    period = {"seconds": 60}
    loads = []
    value = caching.RefreshedValue(lambda: loads.append(1) or len(loads), seconds=lambda: period["seconds"])
    value.get()

    value.clear()
    assert value.get() == 2
    period["seconds"] = 0

    assert value.get() == 3


def test_an_expiring_cache_forgets_entries_after_their_time(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(caching.time, "monotonic", clock)
    cache = caching.ExpiringCache(max_size=10)
    cache.set("a", "A", seconds=10)
    cache.set("b", "B", seconds=0)  # not kept at all

    assert (cache.get("a"), cache.get("b")) == ("A", None)
    clock.now += 10

    assert cache.get("a") is None


def test_a_full_expiring_cache_starts_afresh_and_clear_empties_it():
    cache = caching.ExpiringCache(max_size=2)
    cache.set("a", "A", seconds=60)
    cache.set("b", "B", seconds=60)

    cache.set("c", "C", seconds=60)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, "C")
    cache.clear()
    assert cache.get("c") is None
