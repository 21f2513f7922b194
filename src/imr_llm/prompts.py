"""Prompt templates: a system and a user text, loaded by name or path.

A prompt is a folder holding `system.txt` and `user.txt` (the whole letter), and for the
`per_item` strategy `letter.txt` (credentials and summary) and `item.txt` (one item's
block). Each user text names its input as `$letter` (write `$$` for a literal dollar sign). Substitution uses
`string.Template`, which never re-reads what it inserts, so a letter containing
`{{`, `{%` or `$` reaches the model unchanged (unlike instructor's Jinja `context=`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from imr_llm.errors import ConfigError

DEFAULT_PROMPT = "default"


class PromptError(ConfigError):
    """A prompt could not be found or is malformed: configuration that cannot work."""


PARTS = ("user", "letter", "item")


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    letter: str = "Fill in the letter-level fields from this part of an IMR letter.\n\n<letter>\n$letter\n</letter>"
    item: str = "Fill in the treatment requested in this disputed item of an IMR letter.\n\n<item>\n$letter\n</item>"

    def __post_init__(self) -> None:
        for part in PARTS:
            template = getattr(self, part)
            if "$letter" not in template and "${letter}" not in template:
                raise PromptError(f"prompt {self.name!r}: the {part} template must contain $letter")
            try:
                Template(template).substitute(letter="")
            except (KeyError, ValueError) as exc:
                raise PromptError(
                    f"prompt {self.name!r}: bad placeholder in the {part} template ({exc}); "
                    "only $letter is defined, write $$ for a literal $"
                ) from exc

    @classmethod
    def from_strings(cls, system: str, user: str, name: str = "inline") -> Prompt:
        """A prompt written inline, e.g. in a notebook; `user` must contain `$letter`."""
        return cls(name=name, system=system, user=user)

    def replace(self, **changes: str) -> Prompt:
        """A copy with some parts changed (`system=…`, `user=…`, `name=…`), checked like any prompt."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def load(cls, name_or_path: str | Path = DEFAULT_PROMPT) -> Prompt:
        """A packaged prompt by name (`default`), or a folder with system.txt and user.txt."""
        path = Path(name_or_path)
        if path.is_dir():
            folder: Path | resources.abc.Traversable = path
            name = path.name
        else:
            folder = resources.files("imr_llm.prompt_files") / str(name_or_path)
            name = str(name_or_path)
            if not folder.is_dir():
                raise PromptError(
                    f"no prompt named {name!r} and no folder at {path}; packaged prompts: {', '.join(available())}"
                )
        optional = {p: (folder / f"{p}.txt") for p in PARTS[1:]}
        try:
            system = (folder / "system.txt").read_text(encoding="utf-8")
            user = (folder / "user.txt").read_text(encoding="utf-8")
            extra = {p: f.read_text(encoding="utf-8") for p, f in optional.items() if f.is_file()}
        except FileNotFoundError as exc:
            raise PromptError(f"prompt {name!r} needs system.txt and user.txt: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise PromptError(f"prompt {name!r}: a template file cannot be read as UTF-8 text ({exc})") from exc
        return cls(name=name, system=system, user=user, **extra)

    @property
    def digest(self) -> str:
        """Content hash: what identifies the prompt in cache keys and eval reports."""
        blob = "\0".join([self.system, *(getattr(self, p) for p in PARTS)]).encode()
        return hashlib.sha256(blob).hexdigest()

    def messages(self, letter: str, part: str = "user") -> list[dict[str, str]]:
        """Chat messages for a letter (or, with `part`, one block of it); deterministic."""
        template = getattr(self, part)
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": Template(template).substitute(letter=letter).strip()},
        ]


def available() -> list[str]:
    """Names of the prompts that ship inside the package."""
    root = resources.files("imr_llm.prompt_files")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "user.txt").is_file())


def as_prompt(prompt: Prompt | str | Path | None) -> Prompt:
    """Accept a Prompt, a packaged name, or a folder path."""
    if isinstance(prompt, Prompt):
        return prompt
    return Prompt.load(prompt or DEFAULT_PROMPT)
