"""The model path and the cache under hostile conditions (issue 22): the model client imported
once and only when a model is asked, a success that is not JSON retried, a cache entry altered
on disk never served, and a cache key that covers every module a record comes from."""

import importlib
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import diskcache
import pytest

from conftest import FAST, NAME, ROOT, answer, fields, run_fake, sample
from fake_server import html_page
from imr_llm import ExtractionError, extract_result

extract_module = importlib.import_module("imr_llm.extract")


def child(code: str, *args: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter: imports happen as they would in a user's first run."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT / "tests")  # fmt: skip


# 1. The model client is imported once, under a lock, and never by `rules`.


def test_a_rules_batch_never_imports_the_model_client(tmp_path: Path) -> None:
    run = child(
        """
        import sys
        from imr_llm.cli import main
        code = main(["extract", sys.argv[1], "--out", sys.argv[2], "--strategy", "rules", "--no-cache",
                     "--concurrency", "4", "-q"])
        print(code, sorted(m for m in ("openai", "instructor") if m in sys.modules))
        """,
        str(ROOT / "evals" / "samples"),
        str(tmp_path / "results.jsonl"),
    )
    assert run.stdout.split() == ["0", "[]"], run.stderr


def test_many_threads_asking_a_model_first_all_succeed(tmp_path: Path) -> None:
    """Eight workers ask their first question at once in a fresh process: the client is imported
    by one of them while the others wait, and every letter is extracted."""
    run = child(
        """
        import sys
        from conftest import gold_reply
        from fake_server import FakeOpenAI
        from imr_llm import extract_many
        with FakeOpenAI() as fake:
            fake.queue(gold_reply)
            done = list(extract_many([sys.argv[1]], concurrency=8, model="m", base_url=fake.base_url,
                                     strategy="whole", cache=False))
        print(sum(o.ok for o in done), [type(o.error).__name__ for o in done if not o.ok])
        """,
        str(ROOT / "evals" / "samples"),
    )
    assert run.stdout.split() == ["5", "[]"], run.stderr


# 11. A success that is not JSON is the endpoint's failure: retried like a 503.


def test_an_html_page_with_status_200_is_retried_like_a_503(fake) -> None:
    fake.queue(html_page(), answer())
    result = run_fake(fake)
    assert fields(result.determination)["items"] and len(fake.requests) == 2


def test_an_endpoint_that_only_answers_html_is_transient_after_every_attempt(fake) -> None:
    fake.queue(html_page())
    with pytest.raises(ExtractionError) as failed:
        run_fake(fake)
    assert failed.value.kind == "transient" and len(fake.requests) == FAST.max_attempts


# 12. A cache entry altered on disk is a miss, not a hit.


def test_one_digit_changed_in_a_cached_record_is_recomputed(tmp_path: Path) -> None:
    text = sample(NAME)
    fresh = extract_result(text, strategy="rules", cache=tmp_path)
    age = str(fresh.determination.patient.age)
    db = sqlite3.connect(tmp_path / diskcache.core.DBNAME)
    with db:
        [(raw,)] = db.execute("SELECT value FROM Cache").fetchall()
        changed = raw.replace(f'\\"age\\":{age}', f'\\"age\\":{int(age) + 5}', 1)  # the record is JSON in JSON
        assert changed != raw
        db.execute("UPDATE Cache SET value = ?", (changed,))
    db.close()
    again = extract_result(text, strategy="rules", cache=tmp_path)
    assert not again.cache_hit and again.determination.patient.age == int(age)
    assert extract_result(text, strategy="rules", cache=tmp_path).cache_hit  # stored again, sealed


def test_a_cache_entry_from_before_entries_were_sealed_is_a_miss(tmp_path: Path) -> None:
    text = sample(NAME)
    fresh = extract_result(text, strategy="rules", cache=tmp_path)
    db = sqlite3.connect(tmp_path / diskcache.core.DBNAME)
    with db:
        db.execute("UPDATE Cache SET value = ?", (fresh.determination.model_dump_json(),))  # a bare record
    db.close()
    assert not extract_result(text, strategy="rules", cache=tmp_path).cache_hit


# 13. The cache key covers every module a record is made by.


def test_the_cache_key_reads_every_module_a_record_is_made_by(monkeypatch) -> None:
    """Every `imr_llm` module that `imr_llm.extract` imports at run time, directly or through
    another (seen by watching `import` in a fresh interpreter), is read into the code digest."""
    run = child(
        """
        import builtins, json, sys
        edges, real = set(), builtins.__import__
        def watch(name, globals=None, locals=None, fromlist=(), level=0):
            module = real(name, globals, locals, fromlist, level)
            importer = (globals or {}).get("__name__", "")
            base = name if level == 0 else module.__name__  # `import a.b` returns `a`: the name says `a.b`
            for target in [base, *(f"{base}.{n}" for n in fromlist or ())]:  # `from a import b`: a.b
                edges.add((importer, target))
            return module
        builtins.__import__ = watch
        import imr_llm.extract
        builtins.__import__ = real
        modules = {m for m in sys.modules if m.startswith("imr_llm.")}
        reached, todo = {"imr_llm.extract"}, ["imr_llm.extract"]
        while todo:
            here = todo.pop()
            for importer, target in edges:
                if importer == here and target in modules and target not in reached:
                    reached.add(target)
                    todo.append(target)
        print(json.dumps(sorted(reached)))
        """
    )
    reached = json.loads(run.stdout)
    assert {"imr_llm.schema", "imr_llm.prompts", "imr_llm.strategies", "imr_llm.rules"} <= set(reached)
    read: list[Path] = []
    real_read = Path.read_text

    def recording(self: Path, *args, **kwargs) -> str:
        read.append(self.resolve())
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", recording)
    extract_module._code_digest.cache_clear()
    try:
        extract_module._code_digest()
    finally:
        extract_module._code_digest.cache_clear()
    covered = {p for p in read if p.suffix == ".py"}
    missing = [m for m in reached if Path(importlib.import_module(m).__file__).resolve() not in covered]
    assert missing == []


def test_consumers_of_records_are_not_in_the_cache_key() -> None:
    """Editing the report, the export or the CLI changes no record: it must not empty the cache."""
    modules = set(extract_module.record_modules())
    assert {"imr_llm.schema", "imr_llm.prompts", "imr_llm.asking"} <= modules
    assert modules.isdisjoint({"imr_llm.cli", "imr_llm.export", "imr_llm.review", "imr_llm.batch", "imr_llm.rows"})
    assert not any(m.startswith(("imr_llm.analysis", "imr_llm.evals")) for m in modules)
