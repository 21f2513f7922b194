"""The files this library writes: owner-only, one writer at a time, whole lines.

Everything written holds medical information, so each file is created 0600 with `os.open`
(never left to the umask) and an existing file is narrowed to 0600 before it is written.
An append-only JSONL log (`JsonlLog`) takes an exclusive `filelock` lock beside itself
(`<file>.lock`) for as long as it is open: two runs appending to one file would each
extract every letter and write it twice, so the second fails at once with
`OutputBusyError`. Each row goes out in whole lines, one `os.write` per row, so a crash
leaves only whole lines; a torn last line from a power cut is cut off when the log is opened.
What a line holds, and reading lines back, is `imr_llm.rows`'.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout
from pydantic import BaseModel

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
    """An append-only JSONL file of models, locked against other writers, one whole line per `os.write`."""

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

    def write(self, row: BaseModel) -> None:
        """Append one line; after `close` (a run interrupted while letters were in flight) nothing."""
        data = row.model_dump_json().encode() + b"\n"
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
