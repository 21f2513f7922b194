"""Where letters come from: files, folders and globs of `.txt` and `.pdf`, read into text.

Each letter keeps an id that survives moving the corpus — its path relative to the input
root it was found under — and the sha256 of its bytes, so a rerun can tell a letter already
done from one that changed. Reading is separate from finding, and goes through
`imr_llm.reading` like every other entry point: a file that cannot be read (a PDF with no
text layer, not a letter) becomes a typed error for that letter alone.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from imr_llm import reading
from imr_llm.reading import NoTextLayerError

SUFFIXES = (".txt", ".pdf")
__all__ = ["SUFFIXES", "Letter", "NoTextLayerError", "discover", "pdf_text"]


@dataclass(frozen=True)
class Letter:
    """One input file: `id` is its path under the input root; `sha256` is of its bytes."""

    id: str
    path: Path
    sha256: str

    @classmethod
    def at(cls, path: Path, root: Path) -> Letter:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rel = path.relative_to(root) if root != path else Path(path.name)
        return cls(id=rel.as_posix(), path=path, sha256=digest)

    def read(self, max_chars: int = reading.MAX_CHARS) -> str:
        """The letter's canonical text (`imr_llm.reading.read`; warnings name the letter's id)."""
        return reading.read(self.path, max_chars=max_chars, name=self.id)


pdf_text = reading.read_pdf
"""A PDF's canonical text (`imr_llm.reading.read_pdf`, by its earlier name)."""


def _root_of(pattern: str) -> Path:
    """The folder a glob pattern starts from: its parts before the first wildcard."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if glob.has_magic(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _found(target: str) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs for one argument: a file, a folder (recursive) or a glob."""
    path = Path(target)
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.suffix.lower() in SUFFIXES:
                yield p, path
    elif path.is_file():
        yield path, path
    elif glob.has_magic(target):
        root = _root_of(target)
        for name in sorted(glob.glob(target, recursive=True)):
            p = Path(name)
            if p.is_file() and p.suffix.lower() in SUFFIXES:
                yield p, root
    else:
        raise FileNotFoundError(f"no such file or folder: {target}")


def discover(targets: Iterable[str | Path]) -> list[Letter]:
    """Every letter under `targets`, in a stable order, each once (the first root wins)."""
    seen: dict[Path, Letter] = {}
    for target in targets:
        for path, root in _found(str(target)):
            key = path.resolve()
            if key not in seen:
                seen[key] = Letter.at(path, root)
    return list(seen.values())
