"""`imr-llm` command line: extract letters, evaluate against gold records, manage the cache.

One letter prints its record as JSON; several print one JSON line per letter
(`{"source", "ok", "determination" | "error"}`) so a bad letter is recorded and the
rest go on. A one-line cost summary per letter goes to stderr (never letter text).
Exit status of `extract`: 0 all extracted, 1 some letter failed; of `eval`: 1 when the
score is under `--fail-under`; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from imr_llm.cache import RecordCache
from imr_llm.errors import ImrLlmError
from imr_llm.extract import extract_result


def _model_kwargs(args: argparse.Namespace) -> dict:
    """The options `_model_options` adds, as keyword arguments for `extract_result`."""
    return {
        "model": args.model,
        "base_url": args.base_url,
        "mode": args.mode,
        "prompt": args.prompt,
        "strategy": args.strategy,
        "cache": False if args.no_cache else (args.cache_dir or True),
    }


def _extract(args: argparse.Namespace) -> int:
    out: TextIO = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    failed = 0
    try:
        for path in args.files:
            try:
                result = extract_result(Path(path).read_bytes(), **_model_kwargs(args))
            except (ImrLlmError, OSError) as exc:
                failed += 1
                error = {"type": type(exc).__name__, "message": str(exc)}
                print(f"{path}: failed: {error['type']}: {error['message']}", file=sys.stderr)
                if len(args.files) > 1:
                    print(json.dumps({"source": path, "ok": False, "error": error}), file=out)
                continue
            u = result.usage
            print(
                f"{path}: {len(result.determination.items)} item(s), {u.total_tokens} tokens, "
                f"{result.attempts} call(s), {result.latency_s:.1f}s" + (", cached" if result.cache_hit else ""),
                file=sys.stderr,
            )
            record = result.determination.model_dump(mode="json")
            if len(args.files) == 1:
                print(json.dumps(record, indent=2), file=out)
            else:
                print(json.dumps({"source": path, "ok": True, "determination": record}), file=out)
    finally:
        if args.out:
            out.close()
    return 1 if failed else 0


def _eval(args: argparse.Namespace) -> int:
    from imr_llm.evals import report as reports
    from imr_llm.evals.run import evaluate_folders

    if args.eval_command == "compare":
        a, b = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (args.a, args.b))
        print(reports.compare(a, b))
        return 0

    def progress(run: dict) -> None:
        detail = (f"{run['seconds']:.1f}s, {run['tokens']} tokens" + (", cached" if run["cache_hit"] else "")
                  if run["ok"] else run["error"])  # fmt: skip
        print(f"{run['letter']}: {detail}", file=sys.stderr, flush=True)

    report = evaluate_folders(args.samples, args.gold, on_letter=progress, **_model_kwargs(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(reports.to_markdown(report), encoding="utf-8")
    print(reports.to_text(report))
    print(f"\nwrote {out} and {out.with_suffix('.md')}")
    headline = report["summary"]["headline"]
    if args.fail_under is not None and headline < args.fail_under:
        print(f"field accuracy {headline:.3f} is under --fail-under {args.fail_under}", file=sys.stderr)
        return 1
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    cache = RecordCache(args.dir)
    print(f"removed {cache.clear()} cached record(s) from {cache.directory}")
    return 0


def _cache_info(args: argparse.Namespace) -> int:
    cache = RecordCache(args.dir)
    print(f"{cache.directory}: {len(cache)} cached record(s)")
    return 0


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name (default: $IMR_LLM_MODEL, else the embedded model)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $IMR_LLM_BASE_URL)")
    parser.add_argument("--mode", help="instructor mode: tools, json, md_json, tools_strict")
    parser.add_argument("--prompt", help="packaged prompt name or a folder with system.txt and user.txt")
    parser.add_argument(
        "--strategy", default="per_item", choices=["per_item", "whole", "rules"],
        help="per_item (default): layout and rules, the model fills gaps; whole: one model call; rules: no model",
    )  # fmt: skip
    parser.add_argument("--no-cache", action="store_true", help="always call the model")
    parser.add_argument("--cache-dir", help="record cache folder (default: <user cache>/imr-llm/records)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imr-llm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ex = commands.add_parser("extract", help="extract letters into JSON records")
    ex.add_argument("files", nargs="+", metavar="FILE", help="letter text files")
    _model_options(ex)
    ex.add_argument("--out", help="write records here instead of stdout")
    ex.set_defaults(run=_extract)

    ev = commands.add_parser("eval", help="score a model and prompt against gold records")
    _model_options(ev)
    ev.add_argument("--samples", default="evals/samples", help="folder of letters (*.txt)")
    ev.add_argument("--gold", default="evals/gold", help="folder of gold records (<letter>.json)")
    ev.add_argument("--out", default="evals/reports/latest.json", help="JSON report (Markdown beside it)")
    ev.add_argument(
        "--fail-under", type=float, metavar="SCORE",
        help="exit 1 when field accuracy is below SCORE (failed letters count as misses, never crash the run)",
    )  # fmt: skip
    ev.set_defaults(run=_eval, eval_command=None)
    ev_commands = ev.add_subparsers(dest="eval_command")
    cmp = ev_commands.add_parser("compare", help="per-field deltas between two JSON reports")
    cmp.add_argument("a", help="baseline report.json")
    cmp.add_argument("b", help="candidate report.json")

    cache = commands.add_parser("cache", help="inspect or clear the record cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    for name, run, text in (("clear", _cache_clear, "delete every cached record"),
                            ("info", _cache_info, "where the cache is and how many records")):  # fmt: skip
        sub = cache_commands.add_parser(name, help=text)
        sub.add_argument("--dir", help="record cache folder, as given to extract --cache-dir")
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `imr-llm extract … | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
