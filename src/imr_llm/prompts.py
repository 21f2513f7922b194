"""Prompt templates: a system and a user text, loaded by name or path.

A prompt is a folder holding `system.txt` and `user.txt`; the user text names the
letter as `$letter` (write `$$` for a literal dollar sign). Substitution uses
`string.Template`, which never re-reads what it inserts, so a letter containing
`{{`, `{%` or `$` reaches the model unchanged (unlike instructor's Jinja `context=`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

DEFAULT_PROMPT = "default"


class PromptError(ValueError):
    """A prompt could not be found or is malformed."""


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str

    def __post_init__(self) -> None:
        if "$letter" not in self.user and "${letter}" not in self.user:
            raise PromptError(f"prompt {self.name!r}: the user template must contain $letter")
        try:
            Template(self.user).substitute(letter="")
        except (KeyError, ValueError) as exc:
            raise PromptError(
                f"prompt {self.name!r}: bad placeholder in the user template ({exc}); "
                "only $letter is defined, write $$ for a literal $"
            ) from exc

    @classmethod
    def from_strings(cls, system: str, user: str, name: str = "inline") -> Prompt:
        return cls(name=name, system=system, user=user)

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
                    f"no prompt named {name!r} and no folder at {path}; "
                    f"packaged prompts: {', '.join(available())}"
                )
        try:
            system = (folder / "system.txt").read_text(encoding="utf-8")
            user = (folder / "user.txt").read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise PromptError(f"prompt {name!r} needs system.txt and user.txt: {exc}") from exc
        return cls(name=name, system=system, user=user)

    @property
    def digest(self) -> str:
        """Content hash: what identifies the prompt in cache keys and eval reports."""
        blob = f"{self.system}\0{self.user}".encode()
        return hashlib.sha256(blob).hexdigest()

    def messages(self, letter: str) -> list[dict[str, str]]:
        """Chat messages for one letter; deterministic for the same inputs."""
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": Template(self.user).substitute(letter=letter).strip()},
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
