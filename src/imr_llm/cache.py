"""A disk cache of extracted records that stores JSON text and never unpickles.

diskcache pickles non-string values by default and unpickles whatever row sits in
its database (CVE-2025-69872), so a tampered cache folder could run code. `TextDisk`
stores only `str` values and refuses to read any row that is not plain text; the
`RecordCache` then checks each entry's digest and re-validates it against the schema, and
treats anything unreadable, altered or invalid as a miss (and drops it) rather than an error.

Each entry is sealed with the sha256 of its key and record text (`seal`): one digit changed
on disk (a flipped bit, a hand edit, a half-written page) no longer matches and is recomputed
rather than served. This is an integrity check, not a security MAC: anyone who can write the
cache folder can recompute the digest; the folder's 0700 mode is what keeps others out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import diskcache
import platformdirs
from pydantic import ValidationError

from imr_llm.schema import Determination

CACHE_ENV = "IMR_LLM_CACHE_DIR"
log = logging.getLogger(__name__)


class UnsafeCacheEntry(Exception):
    """A cache row that is not plain text: refused rather than unpickled."""


class TextDisk(diskcache.Disk):
    """diskcache storage that holds `str` keys and values only."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if not isinstance(key, str):
            raise TypeError("cache keys must be str")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeCacheEntry("non-text cache key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if read or not isinstance(value, str):
            raise TypeError("cache values must be str")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_TEXT):
            raise UnsafeCacheEntry(f"cache row in mode {mode} refused (only text is read)")
        data = super().fetch(mode, filename, value, read)
        if not isinstance(data, str):
            raise UnsafeCacheEntry("cache row is not text")
        return data


def default_cache_dir() -> Path:
    """`$IMR_LLM_CACHE_DIR`, else the platform's user cache folder (e.g. ~/.cache/imr-llm)."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("imr-llm"))


def private_dir(path: Path) -> Path:
    """Create `path` readable by its owner only: the cache holds medical information."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def seal(key: str, text: str) -> str:
    """A record's JSON `text` as stored under `key`: with the sha256 of both, so an entry altered
    on disk, or moved under another key, is told apart from the one written."""
    return json.dumps({"sha256": _digest(key, text), "record": text})


def unseal(key: str, stored: str) -> str | None:
    """The record text of a `seal`ed entry, or None when it is not one or its digest does not match."""
    try:
        entry = json.loads(stored)
    except ValueError:
        return None
    if not (isinstance(entry, dict) and isinstance(text := entry.get("record"), str)):
        return None
    return text if entry.get("sha256") == _digest(key, text) else None


def _digest(key: str, text: str) -> str:
    return hashlib.sha256(f"{key}\n{text}".encode()).hexdigest()


def cache_key(**parts: Any) -> str:
    """sha256 over a canonical JSON of everything that changes the answer."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class RecordCache:
    """Validated `Determination`s keyed by `cache_key`; safe against corrupt or hostile rows."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = private_dir(Path(directory) if directory else default_cache_dir() / "records")
        try:
            self._cache = diskcache.Cache(str(self.directory), disk=TextDisk)
        except sqlite3.DatabaseError:  # the index file itself is damaged: set it aside, start empty
            db = self.directory / diskcache.core.DBNAME
            db.rename(db.with_name(f"{db.name}.corrupt-{os.getpid()}-{int(time.time())}"))
            log.warning("record cache index in %s was unreadable; moved aside, starting empty", self.directory)
            self._cache = diskcache.Cache(str(self.directory), disk=TextDisk)

    def get(self, key: str) -> Determination | None:
        try:
            raw = self._cache.get(key)
        except (UnsafeCacheEntry, OSError, UnicodeDecodeError, ValueError, sqlite3.Error):
            self.delete(key)
            return None
        if raw is None:
            return None
        text = unseal(key, raw)
        if text is None:  # altered on disk, or written before entries were sealed
            self.delete(key)
            return None
        try:
            return Determination.model_validate_json(text)
        except ValidationError:
            self.delete(key)
            return None

    def set(self, key: str, record: Determination) -> None:
        """Store a record; a cache that cannot be written (disk full, locked) costs a miss later,
        never the record in hand."""
        try:
            self._cache.set(key, seal(key, record.model_dump_json()))
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not write to the record cache in %s: %s", self.directory, type(exc).__name__)

    def delete(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._cache.delete(key)

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        return self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()
