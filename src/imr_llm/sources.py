"""Where letters come from: files, folders and globs of `.txt` and `.pdf`, read into text.

Each letter keeps an id that survives moving the corpus — its path relative to the input
root it was found under — and the sha256 of its bytes, so a rerun can tell a letter already
done from one that changed. Reading is separate from finding, and goes through
`imr_llm.reading` like every other entry point: a file that cannot be read (no permission, an
I/O error, a PDF with no text layer, not a letter) becomes a typed error for that letter alone,
never a failed discovery.

Folders are walked following symbolic links, each real folder (device and inode) once, so a
linked-in folder is read and a link loop ends; what the walk leaves out — loops, folders it
cannot list, letter names that are not regular files (a FIFO would block a reader for
ever) — is returned as `Skipped` by `scan`, and logged as a warning by `discover`.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imr_llm import reading
from imr_llm.errors import shown
from imr_llm.reading import NoTextLayerError

log = logging.getLogger(__name__)
SUFFIXES = (".txt", ".pdf")
__all__ = ["SUFFIXES", "Letter", "NoTextLayerError", "discover"]


@dataclass(frozen=True)
class Letter:
    """One input file: `id` is its path under the input root; `sha256` is of its bytes."""

    id: str
    path: Path
    sha256: str | None
    """None when the file could not be read when it was found: reading it again for the
    extraction fails the same way, and that letter alone is recorded as failed."""

    @classmethod
    def at(cls, path: Path, root: Path) -> Letter:
        try:
            digest: str | None = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = None
        rel = path.relative_to(root) if root != path else Path(path.name)
        return cls(id=rel.as_posix(), path=path, sha256=digest)

    def read(self, max_chars: int = reading.MAX_CHARS) -> str:
        """The letter's canonical text (`imr_llm.reading.read`; warnings name the letter's id)."""
        return reading.read(self.path, max_chars=max_chars, name=self.id)


def _root_of(pattern: str) -> tuple[Path, list[str]]:
    """The folder a glob pattern starts from (its parts before the first wildcard), and the rest."""
    parts = list(Path(pattern).parts)
    fixed = next((n for n, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return (Path(*parts[:fixed]) if fixed else Path(".")), parts[fixed:]


def _matches(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    """Whether relative path `parts` fit glob `pattern` parts as `glob.glob(recursive=True)` does:
    `**` is any number of folders, a wildcard never matches a leading dot unless it starts with one."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_matches(parts[n:], rest) for n in range(len(parts) + 1) if not any(p[0] == "." for p in parts[:n]))
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _matches(parts[1:], rest)


@dataclass(frozen=True)
class Skipped:
    """A path the walk left out, and why (never a letter's content)."""

    path: Path
    reason: str


@dataclass
class Found:
    """What `scan` found: the letters, and what it had to leave out."""

    letters: list[Letter] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _walk(root: Path, skipped: list[Skipped], depth: int | None = None) -> Iterator[Path]:
    """Letter-named files under `root`, depth first in name order (the order of `sorted` paths),
    following links to folders, each real folder visited once; at most `depth` folders down."""
    seen: set[tuple[int, int]] = set()
    stack: list[Path | tuple[Path, int, frozenset[tuple[int, int]]]] = [(root, 0, frozenset())]
    while stack:
        item = stack.pop()
        if isinstance(item, Path):
            yield item
            continue
        folder, level, above = item
        try:
            info = folder.stat()
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(folder, f"folder cannot be read ({exc.strerror or type(exc).__name__})"))
            continue
        here = (info.st_dev, info.st_ino)
        if here in above:
            skipped.append(Skipped(folder, "a link back to a folder above it (a loop)"))
            continue
        if here in seen:  # the same folder through a second path: its letters are found once
            continue
        seen.add(here)
        inside: list[Path | tuple[Path, int, frozenset[tuple[int, int]]]] = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
            except OSError as exc:
                skipped.append(Skipped(path, f"cannot be examined ({exc.strerror or type(exc).__name__})"))
                continue
            if is_dir:
                if depth is None or level < depth:
                    inside.append((path, level + 1, above | {here}))
            elif path.suffix.lower() in SUFFIXES:
                if is_file:
                    inside.append(path)
                else:
                    skipped.append(Skipped(path, "not a regular file (a broken link, pipe or device)"))
        stack.extend(reversed(inside))


def _found(target: str, skipped: list[Skipped]) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs for one argument: a file, a folder (recursive) or a glob."""
    path = Path(target)
    if path.is_dir():
        for p in _walk(path, skipped):
            yield p, path
    elif path.is_file():
        yield path, path
    elif glob.has_magic(target):
        root, pattern = _root_of(target)
        if not root.is_dir():
            return
        depth = None if "**" in pattern else len(pattern) - 1
        for p in _walk(root, skipped, depth):
            if _matches(p.relative_to(root).parts, pattern):
                yield p, root
    else:
        raise FileNotFoundError(f"no such file or folder: {target}")


def scan(targets: Iterable[str | Path]) -> Found:
    """Every letter under `targets`, in a stable order, each once (the first root wins), and
    what was skipped. Raises `FileNotFoundError` for a target that does not exist."""
    found = Found()
    seen: set[Path] = set()
    for target in targets:
        for path, root in _found(str(target), found.skipped):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.letters.append(Letter.at(path, root))
    return found


def discover(targets: Iterable[str | Path]) -> list[Letter]:
    """The letters of `scan(targets)`; each path it skipped is logged as a warning."""
    found = scan(targets)
    for skip in found.skipped:
        log.warning("skipped %s: %s", shown(str(skip.path)), skip.reason)
    return found.letters
