"""The files this library writes: owner-only, never half-written, one writer at a time, whole lines.

Everything written holds medical information, so each file is created 0600 (never left to the
umask). A file written whole (`private_file`: an export, a report page or CSV, a review page) is
written to a temporary file in the same folder, flushed to disk and renamed over the target, so a
kill, a crash or a full disk leaves the old file or none, never a partial one that looks complete;
`refuse_overwrite` stops an output from replacing one of the command's own inputs.
An append-only JSONL log (`JsonlLog`) takes an exclusive `filelock` lock beside itself
(`<file>.lock`) for as long as it is open: two runs appending to one file would each
extract every letter and write it twice, so the second fails at once with
`OutputBusyError`. Each row goes out in whole lines, one `os.write` per row, so a crash
leaves only whole lines; a torn last line from a power cut is cut off when the log is opened.
What a line holds, and reading lines back, is `imr_llm.rows`'.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout
from pydantic import BaseModel

from imr_llm.errors import OutputBusyError, OutputPathError, shown


@contextlib.contextmanager
def private_file(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """`path` written whole ("w" or "wb"), readable by its owner only, or not at all.

    What is written goes to a temporary file beside `path` (mode 0600, named `.<name>.<random>.tmp`),
    which is flushed, fsynced and renamed over `path` when the block ends without an error: a
    reader sees the old file or the complete new one. On an error the temporary file is removed
    and `path` is untouched; an OSError (a full disk, a file-size limit) names `path`. Only a
    SIGKILL or power cut mid-write can leave the temporary file behind, never a partial `path`."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            raise OSError(exc.errno, f"could not write {shown(str(path))}: {exc.strerror}") from exc
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (where the platform lets a folder be fsynced)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path (links followed), or the same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def refuse_overwrite(outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]) -> None:
    """Raise `OutputPathError` when an output is one of the inputs (links and `..` resolved) or two
    outputs are one file: writing it would destroy what the command reads."""
    given = [Path(p) for p in inputs if p]
    written: list[Path] = []
    for out in (Path(p) for p in outputs if p):
        clash = next((p for p in given if _same(out, p)), None)
        if clash is not None:
            raise OutputPathError(f"output {shown(str(out))} is the input {shown(str(clash))}: not overwritten")
        if any(_same(out, other) for other in written):
            raise OutputPathError(f"{shown(str(out))} is given as two outputs")
        written.append(out)


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
