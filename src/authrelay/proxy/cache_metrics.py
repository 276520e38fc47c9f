"""The per-process caches' sizes on /metrics: entries, estimated bytes and evictions per cache,
read when /metrics is scraped (the hot path does no metrics work for them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from authrelay.bounded_cache import BoundedCache
from authrelay.observability import Metrics


class CacheCollector(Collector):
    def __init__(self, caches: dict[str, BoundedCache[Any, Any]]) -> None:
        self.caches = caches

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        entries = GaugeMetricFamily(
            "authrelay_cache_entries", "Entries held by a per-process cache", labels=["cache"]
        )
        size = GaugeMetricFamily(
            "authrelay_cache_bytes",
            "Estimated bytes held by a per-process cache's entries",
            labels=["cache"],
        )
        evictions = CounterMetricFamily(
            "authrelay_cache_evictions",
            "Entries dropped to stay within a cache's bounds",
            labels=["cache"],
        )
        for name, cache in self.caches.items():
            entries.add_metric([name], len(cache))
            size.add_metric([name], cache.bytes)
            evictions.add_metric([name], cache.evictions)
        yield entries
        yield size
        yield evictions


def register_cache_metrics(metrics: Metrics, caches: dict[str, BoundedCache[Any, Any]]) -> None:
    """Once per process (a second runtime in the same process replaces the first's); the
    `cache` label is each cache's name in `caches`."""
    old = getattr(metrics, "cache_collector", None)
    if old is not None:
        metrics.registry.unregister(old)
    collector = CacheCollector(caches)
    metrics.registry.register(collector)
    metrics.cache_collector = collector  # type: ignore[attr-defined]
