import os
import pickle
import stat

import diskcache
import pytest

from conftest import gold
from imr_llm.cache import RecordCache, cache_key, unseal
from imr_llm.schema import Determination


@pytest.fixture
def record():
    return Determination.model_validate(gold("002_53cd04ea59152e39"))


def test_round_trip_and_private_folder(tmp_path, record):
    cache = RecordCache(tmp_path / "c")
    cache.set("k", record)
    assert cache.get("k") == record
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700


def test_values_are_stored_as_json_text(tmp_path, record):
    RecordCache(tmp_path).set("k", record)
    raw = diskcache.Cache(str(tmp_path)).get("k")
    assert isinstance(raw, str)
    assert Determination.model_validate_json(unseal("k", raw)) == record


class _Exploit:
    def __reduce__(self):
        return (open, ("/dev/null/__pwned__", "w"))  # would raise if ever unpickled


def test_pickled_rows_are_refused_not_unpickled(tmp_path, monkeypatch):
    """CVE-2025-69872: a tampered cache folder must not get code run by a read."""
    diskcache.Cache(str(tmp_path)).set("k", _Exploit())  # plain diskcache pickles it
    calls = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    cache = RecordCache(tmp_path)
    assert cache.get("k") is None
    assert calls == []
    assert "k" not in diskcache.Cache(str(tmp_path)), "the bad row is dropped"


@pytest.mark.parametrize("raw", ["{not json", '{"reviewer": {}}', "[]"])
def test_corrupt_or_outdated_entries_are_misses(tmp_path, raw):
    diskcache.Cache(str(tmp_path)).set("k", raw)
    cache = RecordCache(tmp_path)
    assert cache.get("k") is None
    assert len(cache) == 0


def test_clear(tmp_path, record):
    cache = RecordCache(tmp_path)
    cache.set("a", record)
    cache.set("b", record)
    assert cache.clear() == 2
    assert cache.get("a") is None


def test_key_is_canonical_and_sensitive():
    base = {"model": "m", "prompt": "p", "letter": "text", "generation": {"t": 0, "n": 1}}
    assert cache_key(**base) == cache_key(**dict(reversed(list(base.items()))))
    for field, other in [
        ("model", "m2"),
        ("prompt", "p2"),
        ("letter", "text "),
        ("generation", {"t": 1, "n": 1}),
    ]:
        assert cache_key(**{**base, field: other}) != cache_key(**base)
