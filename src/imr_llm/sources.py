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
ever) — is returned as `Skipped` by `scan`, and logged as a warning by `discover`. Files of
other kinds in a folder (.docx, .html, .rtf …) are not letters this library reads: they are
counted by extension (`Found.others`, never opened) so a run can say what it passed over.

A run's own outputs must never be read back as letters: `refuse_as_output` rejects an output
named like a letter (.txt, .pdf) or lying where an input would find it (the input file itself,
inside an input folder, matched by an input glob).
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imr_llm import reading
from imr_llm.errors import OutputPathError, shown
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
    others: Counter[str] = field(default_factory=Counter)
    """Files in the folders walked that are not letters, by extension (".docx"; "" for none)."""

    def others_note(self) -> str | None:
        """What `others` says, in words (extensions and counts, never a name), or None."""
        if not self.others:
            return None
        kinds = ", ".join(f"{ext or '(no extension)'} {n}" for ext, n in sorted(self.others.items()))
        total = sum(self.others.values())
        return f"{total} file(s) passed over that are not .txt or .pdf letters ({kinds})"


def _walk(root: Path, skipped: list[Skipped], depth: int | None = None) -> Iterator[Path]:
    """Regular files under `root` (and letter-named paths that are not regular files, which are
    skipped), depth first in name order (the order of `sorted` paths), following links to folders,
    each real folder visited once; at most `depth` folders down."""
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
            elif is_file:
                inside.append(path)
            elif path.suffix.lower() in SUFFIXES:
                skipped.append(Skipped(path, "not a regular file (a broken link, pipe or device)"))
        stack.extend(reversed(inside))


def _found(target: str, found: Found) -> Iterator[tuple[Path, Path]]:
    """(letter, root) pairs for one argument: a file, a folder (recursive) or a glob; the files
    walked past that are not letters are counted in `found.others`."""
    path = Path(target)
    if path.is_dir():
        yield from _letters(_walk(path, found.skipped), path, found)
    elif path.is_file():
        yield path, path
    elif glob.has_magic(target):
        root, pattern = _root_of(target)
        if not root.is_dir():
            return
        depth = None if "**" in pattern else len(pattern) - 1
        matched = (p for p in _walk(root, found.skipped, depth) if _matches(p.relative_to(root).parts, pattern))
        yield from _letters(matched, root, found)
    else:
        raise FileNotFoundError(f"no such file or folder: {target}")


def _letters(paths: Iterable[Path], root: Path, found: Found) -> Iterator[tuple[Path, Path]]:
    for path in paths:
        if path.suffix.lower() in SUFFIXES:
            yield path, root
        else:
            found.others[path.suffix.lower()] += 1


def scan(targets: Iterable[str | Path]) -> Found:
    """Every letter under `targets`, in a stable order, each once (the first root wins), and
    what was skipped. Raises `FileNotFoundError` for a target that does not exist."""
    found = Found()
    seen: set[Path] = set()
    for target in targets:
        for path, root in _found(str(target), found):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.letters.append(Letter.at(path, root))
    return found


def discover(targets: Iterable[str | Path]) -> list[Letter]:
    """The letters of `scan(targets)`; each path it skipped, and the count of files that are not
    letters, is logged as a warning."""
    found = scan(targets)
    for skip in found.skipped:
        log.warning("skipped %s: %s", shown(str(skip.path)), skip.reason)
    if (note := found.others_note()) is not None:
        log.warning("%s", note)
    return found.letters


def refuse_as_output(outputs: Iterable[str | Path | None], targets: Iterable[str | Path]) -> None:
    """Raise `OutputPathError` for an output a run over `targets` (or the next one) would read as
    a letter: one named .txt or .pdf, the input file itself, one inside an input folder, or one an
    input glob matches. Paths are compared resolved (links followed), so no spelling slips past."""
    targets = [str(t) for t in targets]
    for out in (Path(p) for p in outputs if p):
        if out.suffix.lower() in SUFFIXES:
            raise OutputPathError(
                f"output {shown(str(out))} is named like a letter ({out.suffix}); a run over its folder "
                "would read it as one: name it .jsonl"
            )
        where = out.resolve()
        for target in targets:
            path = Path(target)
            if path.is_dir() and where.is_relative_to(path.resolve()):
                inside = f"inside the input folder {shown(target)}"
            elif path.is_file() and where == path.resolve():
                inside = f"the input {shown(target)}"
            elif not path.exists() and glob.has_magic(target):
                root, pattern = _root_of(target)
                top = root.resolve()
                if not (where.is_relative_to(top) and _matches(where.relative_to(top).parts, pattern)):
                    continue
                inside = f"matched by the input {shown(target)}"
            else:
                continue
            raise OutputPathError(f"output {shown(str(out))} is {inside}: write it outside the letters")
