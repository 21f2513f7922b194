"""Cache integrity: processes sharing one folder, damaged entries and files, and changes
between runs. Nothing wrong is ever served: every hit equals what extraction gives."""

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import diskcache

from conftest import NAME, SAMPLES, answer, fields, gold, labelled, sample
from conftest import run_fake as run
from imr_llm import Prompt, extract_result
from imr_llm.cache import RecordCache, seal, unseal

WORKER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from imr_llm import extract_result
    cache, samples, me = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    out = []
    for round in range(3):
        for n, path in enumerate(sorted(samples.glob("*.txt"))):
            text = path.read_text()
            if n % 2:  # half the letters differ per process, half are shared by all
                text = f"Case Number: CM{me:07d}\\n\\n" + text
            result = extract_result(text, strategy="rules", cache=cache)
            out.append([path.stem, n % 2, result.cache_hit, result.determination.model_dump_json()])
    print(json.dumps(out))
    """
)


def test_processes_sharing_a_cache_folder_never_see_a_wrong_record(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    command = [sys.executable, "-c", WORKER, str(cache), str(SAMPLES)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen([*command, str(me)], **pipes) for me in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    for rows in results:
        assert len(rows) == 15
        for stem, _, _, record in rows:
            got = labelled(json.loads(record))
            assert got == gold(stem)
        assert all(hit for *_, hit, _ in rows[5:])  # rounds 2 and 3 come from the cache
    shared = 3 + 4 * 2  # three shared letters, two private ones per process
    assert len(RecordCache(cache)) == shared


def test_an_entry_damaged_on_disk_is_a_miss_and_is_replaced(fake, tmp_path: Path) -> None:
    fake.queue(answer())
    first = run(fake, cache=tmp_path)
    db = sqlite3.connect(tmp_path / diskcache.core.DBNAME)
    with db:
        [(raw,)] = db.execute("SELECT value FROM Cache").fetchall()
        db.execute("UPDATE Cache SET value = ?", (raw[: len(raw) // 2],))
    db.close()
    again = run(fake, cache=tmp_path)
    assert not again.cache_hit and len(fake.requests) == 2
    assert fields(again.determination) == fields(first.determination)
    assert run(fake, cache=tmp_path).cache_hit  # the fresh answer was stored


def test_a_damaged_index_file_is_set_aside_not_fatal(fake, tmp_path: Path) -> None:
    fake.queue(answer())
    run(fake, cache=tmp_path)
    (tmp_path / diskcache.core.DBNAME).write_bytes(b"this is not an sqlite database" * 100)
    result = run(fake, cache=RecordCache(tmp_path))
    assert not result.cache_hit and fields(result.determination) == gold(NAME)
    assert list(tmp_path.glob("cache.db.corrupt-*"))


def test_a_schema_or_prompt_change_between_runs_misses(fake, tmp_path: Path, monkeypatch) -> None:
    fake.queue(answer())
    run(fake, cache=tmp_path)
    assert run(fake, cache=tmp_path).cache_hit
    changed = Prompt.from_strings("You read IMR letters.", "$letter")
    assert not run(fake, cache=tmp_path, prompt=changed).cache_hit
    monkeypatch.setattr(sys.modules["imr_llm.extract"], "_schema_digest", lambda: "a-new-schema")
    assert not run(fake, cache=tmp_path).cache_hit
    assert len(fake.requests) == 3


def test_an_outdated_record_in_the_cache_is_never_served(tmp_path: Path) -> None:
    text = sample(NAME)
    assert not extract_result(text, strategy="rules", cache=tmp_path).cache_hit
    cache = RecordCache(tmp_path)
    [key] = list(cache._cache)
    stale = json.loads(unseal(key, cache._cache[key]))
    stale["items"][0]["decision"] = "approved"  # a record an older schema might have allowed
    cache._cache[key] = seal(key, json.dumps(stale))  # sealed as written: only validation can refuse it
    result = extract_result(text, strategy="rules", cache=cache)
    assert not result.cache_hit and fields(result.determination) == gold(NAME)
