"""The files this library writes and reads back: owner-only, one writer at a time, one row per letter.

Everything written holds medical information, so each file is created 0600 with `os.open`
(never left to the umask) and an existing file is narrowed to 0600 before it is written.
An append-only JSONL log (`JsonlLog`) takes an exclusive `filelock` lock beside itself
(`<file>.lock`) for as long as it is open: two runs appending to one file would each
extract every letter and write it twice, so the second fails at once with
`OutputBusyError`. Each row goes out in whole lines, one `os.write` per row, so a crash
leaves only whole lines; a torn last line from a power cut is cut off when the log is opened.

Reading (`read_rows`) keeps the LAST row of each letter id — a rerun after a letter
changed appends the newer row — and holds only ids and byte offsets in memory, so a
file of a million rows is read in two passes rather than loaded.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout

from imr_llm.errors import OutputBusyError


def private_file(path: str | Path, mode: str = "w") -> IO[Any]:
    """`path` opened for writing from the start ("w" or "wb"), readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that already existed keeps its old mode otherwise
    return os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""}))


def lock_for(path: str | Path) -> FileLock:
    """The lock that makes `path` one writer's at a time (non-blocking: it is held or it fails)."""
    path = Path(path)
    return FileLock(path.with_name(f"{path.name}.lock"), timeout=0, mode=0o600)


class JsonlLog:
    """An append-only JSONL file, locked against other writers, one whole line per `os.write`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file_lock = lock_for(self.path)
        try:
            self._file_lock.acquire()
        except Timeout:
            raise OutputBusyError(
                f"{self.path} is being written by another imr-llm run (lock {self._file_lock.lock_file}); "
                "wait for it to finish or write to another file"
            ) from None
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)  # rows hold medical data
        except OSError:
            self._file_lock.release()
            raise
        self._lock = threading.Lock()
        self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        """Drop a last line without its newline (a write cut short by power loss or a full disk)."""
        size = os.fstat(self._fd).st_size
        if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(0, end - 65536)
            cut = os.pread(self._fd, end - start, start).rfind(b"\n")
            if cut >= 0:
                os.ftruncate(self._fd, start + cut + 1)
                return
            end = start
        os.ftruncate(self._fd, 0)

    def write(self, row: dict[str, Any]) -> None:
        """Append one line; after `close` (a run interrupted while letters were in flight) nothing."""
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode()
        with self._lock:
            if self._fd is None:
                return
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        """Close once the line being written (if any) is complete; later writes are dropped, never sent
        to whatever file reuses the descriptor. Idempotent."""
        with self._lock:
            if self._fd is None:
                return
            os.close(self._fd)
            self._fd = None
            self._file_lock.release()

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _row(line: bytes) -> dict[str, Any] | None:
    """A line's row, or None for a torn, garbled or id-less line."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return row if isinstance(row, dict) and isinstance(row.get("id"), str) else None


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """The last row of each letter id in a JSONL file, in the order those rows were written.

    A missing file has none; a torn or garbled line is skipped. Memory holds one offset per id."""
    path = Path(path)
    if not path.is_file():
        return
    latest: dict[str, int] = {}
    with path.open("rb") as fh:
        offset = 0
        for line in fh:
            row = _row(line)
            if row is not None:
                latest.pop(row["id"], None)  # re-inserted: the dict stays in order of each id's last row
                latest[row["id"]] = offset
            offset += len(line)
        for offset in latest.values():
            fh.seek(offset)
            row = _row(fh.readline())
            if row is not None:  # the file changed under us: what is there now is skipped if unreadable
                yield row
