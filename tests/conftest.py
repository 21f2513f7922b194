from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_server import FakeOpenAI, Reply, completion, error
from imr_llm import Options, RetryPolicy, extract_result, layout
from imr_llm.schema import NOT_LABELS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "evals" / "samples"
GOLD = ROOT / "evals" / "gold"
LINES = ("claims_administrator_guideline", "reviewer_guideline", "rationale")


def sample(name: str) -> str:
    return (SAMPLES / f"{name}.txt").read_text(encoding="utf-8")


def gold(name: str) -> dict:
    return json.loads((GOLD / f"{name}.json").read_text(encoding="utf-8"))


def passage(part, words: int = 6) -> str:
    """A pointer at a layout span: its first `words` words."""
    return " ".join(part.value.split()[:words]) if part is not None else ""


def pointed(name: str, text: str | None = None) -> dict:
    """The answer a model that reads sample NAME right gives under `whole` (`imr_llm.pointers.Pointed`):
    each item's request and decision from its gold record, its passages' first words where the
    layout finds them in `text` (default: the sample)."""
    found = layout.parse(text or sample(name)).items
    return {
        "requests": [item["request"] for item in gold(name)["items"]],
        "items": [
            {
                "request": item["request"],
                "finding": at.decision.value,
                "decision": item["decision"],
                **{part: passage(getattr(at, part)) for part in LINES},
            }
            for item, at in zip(gold(name)["items"], found, strict=True)
        ],
    }


def fields(record) -> dict:
    """A record's labeled fields as JSON data (evidence is not part of a gold label)."""
    return record.model_dump(mode="json", exclude=set(NOT_LABELS))


def labelled(data: dict) -> dict:
    """A record read back as JSON data, without the fields that are not labels."""
    return {k: v for k, v in data.items() if k not in NOT_LABELS}


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's keys or endpoints. Record caches are always passed
    explicitly (a tmp folder); the embedded model stays in the shared cache folder."""
    for var in ("OPENAI_API_KEY", "IMR_LLM_MODEL", "IMR_LLM_BASE_URL", "IMR_LLM_MODE"):
        monkeypatch.delenv(var, raising=False)


def cli_model(fake: FakeOpenAI) -> list[str]:
    """CLI options that point a command at the scripted server, asking for the whole letter."""
    return ["--model", "m", "--base-url", fake.base_url, "--strategy", "whole"]


@pytest.fixture
def fake() -> FakeOpenAI:
    with FakeOpenAI() as server:
        yield server


def gold_reply(request: dict) -> Reply:
    """Answers a whole-letter request as a model that reads whichever sample it carries right."""
    name = asked_about(request)
    return completion(json.dumps(pointed(name))) if name else error(400)


def asked_about(request: dict) -> str | None:
    """Which sample a whole-letter request carries (by its last words: the model is shown the
    letter from its items on), or None."""
    content = request["messages"][1]["content"]
    for path in sorted(SAMPLES.glob("*.txt")):
        if path.read_text(encoding="utf-8").strip()[-200:] in content:
            return path.stem
    return None


def slow(reply: Callable[[dict], Reply], seconds: float) -> Callable[[dict], Reply]:
    """`reply`, sent after `seconds`: a model that takes its time."""
    return lambda request: dataclasses.replace(reply(request), delay=seconds)


NAME = "002_53cd04ea59152e39"
"""The letter the single-letter model-path tests send (three items)."""
FAST = RetryPolicy(max_attempts=3, max_seconds=20, initial_wait=0.01, max_wait=0.05)


def answer(**usage: int) -> Reply:
    """A completion pointing at letter NAME's items as a model that reads it right does."""
    return completion(json.dumps(pointed(NAME)), **usage)


def run_fake(fake: FakeOpenAI, text: str | bytes | None = None, **kwargs):
    """Extract letter NAME (or `text`) with the whole-letter strategy from the scripted server."""
    kwargs.setdefault("options", Options(retry=FAST, timeout=5))
    kwargs.setdefault("cache", False)
    kwargs.setdefault("strategy", "whole")
    return extract_result(sample(NAME) if text is None else text, model="fake-model", base_url=fake.base_url, **kwargs)
