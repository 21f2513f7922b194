"""The README's DuckDB queries over exported Parquet shards give the Python report's tables."""

import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from imr_llm import report
from imr_llm.export import write_parquet

duckdb = pytest.importorskip("duckdb", reason="the DuckDB queries need imr-llm[report]")
sys.path.insert(0, str(ROOT / "evals"))
from bench_report import write_results  # noqa: E402


def readme_query(table: str) -> str:
    """The SQL block in README.md headed `-- imr-llm report: <table>`: the documented query is the tested one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [sql] = re.findall(rf"```sql\n(-- imr-llm report: {table}\n.*?)```", readme, re.S)
    return sql


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """A generated corpus in three results files (different letters), each exported to a Parquet shard."""
    folder = tmp_path_factory.mktemp("shards")
    results = []
    for seed in range(3):
        path = folder / f"results-{seed}.jsonl"
        write_results(path, 700, seed=seed)
        write_parquet(path, folder / f"shard-{seed}.parquet")
        results.append(path)
    return results, folder


def test_duckdb_by_drug_class_equals_the_report(shards: tuple[list[Path], Path]) -> None:
    results, folder = shards
    expected = [r.cells() for r in report(results).table("by_drug_class").rows]
    sql = readme_query("by_drug_class").replace("items/*.parquet", str(folder / "*.parquet"))
    got = duckdb.sql(sql).fetchall()
    assert len(expected) > 5 and [tuple(r[:4]) for r in got] == [
        (e[0], int(e[1]), int(e[2]), int(e[3])) for e in expected
    ]
    for row, cells in zip(got, expected, strict=True):  # rates and intervals to the printed precision
        assert list(row[4:]) == pytest.approx([float(c) for c in cells[4:]], abs=0.051)


def test_duckdb_top_pages_equals_the_report(shards: tuple[list[Path], Path]) -> None:
    results, folder = shards
    expected = [r.cells()[:2] + r.cells()[2:3] + r.cells()[4:5] for r in report(results).table("top_pages").rows]
    sql = readme_query("top_pages").replace("items/*.parquet", str(folder / "*.parquet"))
    got = [(g, str(p), str(n), str(o)) for g, p, n, o in duckdb.sql(sql).fetchall()]
    assert len(expected) > 10 and got == [tuple(e) for e in expected]
