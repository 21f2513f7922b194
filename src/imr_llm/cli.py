"""`imr-llm` command line: extract letters, evaluate against gold records, manage the cache.

One letter file prints its record as JSON. Folders, globs or several files run as a batch
(`imr_llm.batch`): one JSON line per letter (`{"id", "sha256", "source", "ok",
"determination" | "error"}`) to `--out` (failures to `<out>.errors.jsonl`) or stdout, a
progress bar on stderr (never letter text), and a rerun skips what `--out` already holds.
Everything a run depends on is checked before any letter is tried. Exit status of `extract`:
0 all extracted, 1 some letter failed, 2 for bad usage (a missing input, no letters found, a
prompt that cannot be loaded, an `--out` another run is writing, an output that is an input, lies
in an input folder or is named like a letter, a `--concurrency` under 1), 141 when the reader of
stdout left early (`| head`); of `eval`: 1 when the score is under `--fail-under`; of `report`
(`imr-llm report results.jsonl [more.jsonl] --out report.html [--csv-dir DIR]`: counts and
overturn rates as one HTML page and a CSV per table, `imr_llm.analysis`): 2 for a missing file. File
names and ids are printed with control characters escaped (`errors.shown`); the JSONL keeps
the true id.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from imr_llm import batch
from imr_llm.cache import RecordCache
from imr_llm.errors import ConfigError, ImrLlmError, OutputBusyError, OutputPathError, shown
from imr_llm.extract import DEFAULT_STRATEGY, Extractor
from imr_llm.files import refuse_overwrite
from imr_llm.options import Options
from imr_llm.prompts import PromptError
from imr_llm.rows import Outcome, Output, errors_path, plan
from imr_llm.sources import Letter, discover, refuse_as_output, scan
from imr_llm.strategies import STRATEGIES


def _extractor(args: argparse.Namespace) -> Extractor:
    """The extractor `_model_options` describes, resolved once for the command."""
    cache = False if args.no_cache else (args.cache_dir or True)
    return Extractor.resolve(model=args.model, base_url=args.base_url, mode=args.mode, prompt=args.prompt,
                             strategy=args.strategy, cache=cache, options=Options(ocr=not args.no_ocr))  # fmt: skip


def _warn(command: str, message: str) -> None:
    print(shown(f"imr-llm {command}: {message}"), file=sys.stderr)


def _extract(args: argparse.Namespace) -> int:
    """Check everything a run depends on — inputs, prompt, cache, output lock — before any letter."""
    try:
        found = scan(args.inputs)
    except FileNotFoundError as exc:
        _warn("extract", str(exc))
        return 2
    for skip in found.skipped:  # a warning even with -q: letters in an unreadable folder are not counted anywhere
        _warn("extract", f"skipped {skip.path}: {skip.reason}")
    if (others := found.others_note()) is not None:  # never silent: a .docx corpus would look like a small one
        _warn("extract", others)
    if not found.letters:
        _warn("extract", f"no letters (.txt or .pdf files) under {' '.join(args.inputs)}")
        return 2
    # an output the next run would read as a letter, or that overwrites one
    refuse_as_output([args.out, args.errors or (args.out and errors_path(args.out))], args.inputs)
    try:
        extractor = _extractor(args)
    except ConfigError as exc:
        _warn("extract", f"--prompt: {exc}" if isinstance(exc, PromptError) else str(exc))
        return 2
    if len(found.letters) == 1 and not args.out and Path(args.inputs[0]).is_file():
        return _extract_one(found.letters[0], extractor)
    try:
        output = Output(args.out, args.errors)
    except OutputBusyError as exc:
        _warn("extract", str(exc))
        return 2
    with output:
        return _extract_batch(found.letters, output, extractor, args, [others] if others else [])


def _failed(outcome: Outcome) -> str:
    return shown(f"{outcome.letter.id}: failed: {type(outcome.error).__name__}: {outcome.error}")


def _extract_one(letter: Letter, extractor: Extractor) -> int:
    """One file: the record as indented JSON on stdout, its cost on stderr."""
    outcome = batch.extract_one(letter, extractor)
    if outcome.result is None:
        print(_failed(outcome), file=sys.stderr)
        return 1
    print(shown(f"{letter.id}: {outcome.result.summary()}"), file=sys.stderr)
    print(json.dumps(outcome.result.determination.model_dump(mode="json"), indent=2))
    return 0


def _extract_batch(
    letters: list[Letter], output: Output, extractor: Extractor, args: argparse.Namespace, notes: list[str]
) -> int:
    """Many letters: rows streamed to --out (resumable) or stdout, a progress bar on stderr."""
    from tqdm import tqdm

    todo = plan(letters, output.out, output.errors, args.retry_failed)
    say = (lambda _: None) if args.quiet else (lambda text: tqdm.write(shown(text), file=sys.stderr))
    if todo.done or todo.failed_before:
        same = f" ({todo.same_content} of them under another id, from another folder)" if todo.same_content else ""
        say(f"resuming: {todo.done} letter(s) already in {args.out}{same}, {todo.failed_before} earlier failure(s) "
            "skipped" + (" (--retry-failed tries them again)" if todo.failed_before else ""))  # fmt: skip
    tally = batch.Tally(notes=notes)
    bar = tqdm(total=len(todo.todo), unit="letter", file=sys.stderr, disable=args.quiet, dynamic_ncols=True)
    stdout = None if args.out else sys.stdout
    try:
        for outcome in batch.run(todo.todo, extractor, concurrency=args.concurrency, output=output,
                                 progress=not args.quiet):  # fmt: skip
            tally.add(outcome)
            if stdout is not None:
                print(outcome.row().model_dump_json(), file=stdout, flush=True)
            if outcome.error is not None:
                say(_failed(outcome))
            bar.set_postfix(failed=tally.failed, review=tally.needs_review, tokens=tally.usage.total_tokens,
                            cached=tally.cache_hits)  # fmt: skip
            bar.update()
    finally:
        bar.close()
        say(tally.summary())
    if todo.failed_before:
        say(f"{todo.failed_before} letter(s) failed in an earlier run and were not retried")
    return 1 if tally.failed or todo.failed_before else 0


def _eval(args: argparse.Namespace) -> int:
    from imr_llm.evals import report as reports
    from imr_llm.evals.report import LetterRun
    from imr_llm.evals.run import evaluate_folders

    if args.eval_command == "compare":
        print(reports.compare(reports.Report.read(args.a), reports.Report.read(args.b)))
        return 0

    def progress(run: LetterRun) -> None:
        detail = (f"{run.seconds:.1f}s, {run.tokens} tokens" + (", cached" if run.cache_hit else "")
                  if run.ok else run.error)  # fmt: skip
        print(shown(f"{run.letter}: {detail}"), file=sys.stderr, flush=True)

    def review_page(case, result) -> None:
        from imr_llm import review

        page = Path(args.review_dir) / f"{case.name}.html"
        review.write(page, result.text, result.determination, title=case.name, gold=case.gold)

    on_record = review_page if args.review_dir else None
    gold = args.gold or ["evals/gold"]
    report = evaluate_folders(args.samples, gold, extractor=_extractor(args), on_letter=progress, on_record=on_record)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.to_json() + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(reports.to_markdown(report), encoding="utf-8")
    print(reports.to_text(report))
    print(f"\nwrote {shown(str(out))} and {shown(str(out.with_suffix('.md')))}")
    headline = report.summary.headline
    if args.fail_under is not None and headline < args.fail_under:
        print(f"field accuracy {headline:.3f} is under --fail-under {args.fail_under}", file=sys.stderr)
        return 1
    return 0


def _review(args: argparse.Namespace) -> int:
    from imr_llm import review
    from imr_llm.schema import Determination

    if not Path(args.letter).is_file():
        _warn("review", f"no such file: {args.letter}")
        return 2
    refuse_overwrite([args.out], [args.letter, args.gold])
    [letter] = discover([args.letter])
    result = _extractor(args).run(letter.path)
    gold = Determination.model_validate_json(Path(args.gold).read_text(encoding="utf-8")) if args.gold else None
    path = review.write(args.out, result.text, result.determination, title=letter.id, gold=gold, note=result.summary())
    print(shown(f"wrote {path}"))
    return 0


def _export(args: argparse.Namespace) -> int:
    from imr_llm import export

    if not (args.items or args.parquet):
        print("imr-llm export: give --items FILE.csv and/or --parquet FILE.parquet", file=sys.stderr)
        return 2
    if not Path(args.results).is_file():
        _warn("export", f"no such file: {args.results}")
        return 2
    refuse_overwrite([args.items, args.parquet], [args.results, errors_path(args.results)])
    records = export.Records(args.results)
    for path, write in ((args.items, export.write_csv), (args.parquet, export.write_parquet)):
        if path:
            print(shown(f"wrote {write(records, path)} item row(s) to {path}"))
    for note in records.notes():  # what was left out, as `report` counts it; the exit status stays 0 as there
        _warn("export", note)
    return 0


def _report(args: argparse.Namespace) -> int:
    from imr_llm.analysis import report

    try:
        done = report(args.results, args.out, csv_dir=args.csv_dir, exclude_needs_review=args.exclude_needs_review,
                      progress=not args.quiet)  # fmt: skip
    except FileNotFoundError as exc:
        _warn("report", str(exc))
        return 2
    q = done.quality
    print(shown(f"wrote {args.out}: {q.letters_counted} letter(s), {q.items_counted} item(s) counted; "
                f"{sum(q.failed.values())} failed, {sum(q.invalid.values())} invalid, "
                f"{q.needs_review_letters} need review"))  # fmt: skip
    return 0


def _openai_batch(args: argparse.Namespace) -> int:
    from imr_llm import openai_batch as ob

    remote = {"base_url": args.base_url}
    if args.batch_command == "prepare":
        written, refused = ob.write_requests(args.inputs, args.out, model=args.model, prompt=args.prompt,
                                             mode=args.mode or "tools")  # fmt: skip
        print(shown(f"wrote {written} request(s) to {args.out}; {refused} letter(s) refused (see the errors file)"))
    elif args.batch_command == "submit":
        print(ob.submit(args.requests, **remote))
    elif args.batch_command == "status":
        batch = ob.status(args.batch_id, **remote)
        print(f"{batch.id}: {batch.status} {batch.request_counts}")
    elif args.batch_command == "download":
        print(shown(f"wrote {ob.download(args.batch_id, args.out, **remote)} result line(s) to {args.out}"))
    else:
        done = ob.collect(args.results, args.inputs, args.out, prompt=args.prompt, mode=args.mode or "tools")
        failed = sum(not o.ok for o in done.outcomes)
        print(
            shown(
                f"{len(done.outcomes) - failed} record(s) to {args.out}, {failed} failure(s); "
                f"{len(done.passed_over)} line(s) passed over (already collected or not under the inputs)"
            )
        )
        return 1 if failed else 0
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    cache = RecordCache(args.dir)
    print(shown(f"removed {cache.clear()} cached record(s) from {cache.directory}"))
    return 0


def _cache_info(args: argparse.Namespace) -> int:
    cache = RecordCache(args.dir)
    print(shown(f"{cache.directory}: {len(cache)} cached record(s)"))
    return 0


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name (default: $IMR_LLM_MODEL, else the embedded model)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $IMR_LLM_BASE_URL)")
    parser.add_argument("--mode", help="instructor mode: tools, json, md_json, tools_strict")
    parser.add_argument("--prompt", help="packaged prompt name or a folder with system.txt and user.txt")
    parser.add_argument(
        "--strategy", default=DEFAULT_STRATEGY, choices=list(STRATEGIES),
        help=f"how a letter is read (default {DEFAULT_STRATEGY}; see imr_llm.strategies): per_item, layout and rules "
        "with the model filling gaps; whole, one model call; rules, no model",
    )  # fmt: skip
    parser.add_argument("--no-cache", action="store_true", help="always call the model")
    parser.add_argument("--cache-dir", help="record cache folder (default: <user cache>/imr-llm/records)")
    parser.add_argument("--no-ocr", action="store_true", help="refuse scanned PDFs instead of reading them by OCR")


def _concurrency(text: str) -> int:
    """--concurrency as argparse reads it: a bad value is a usage error (exit 2) before any file is made."""
    try:
        return batch.check_concurrency(int(text))
    except ValueError:  # ConfigError is one
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imr-llm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ex = commands.add_parser("extract", help="extract letters into JSON records")
    ex.add_argument("inputs", nargs="+", metavar="PATH", help="letters: .txt or .pdf files, folders (recursive), globs")
    _model_options(ex)
    ex.add_argument("--out", help="append one JSON line per letter here; a rerun skips letters already in it")
    ex.add_argument("--errors", help="failures file (default: <out>.errors.jsonl)")
    ex.add_argument("--concurrency", type=_concurrency, default=4, help="letters in flight at once (default 4)")
    ex.add_argument("--retry-failed", action="store_true", help="retry only the letters recorded as failed")
    ex.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary; the exit status tells")
    ex.set_defaults(run=_extract)

    exp = commands.add_parser("export", help="flatten extract --out JSONL to one row per disputed item")
    exp.add_argument("results", help="JSONL written by extract --out")
    exp.add_argument("--items", help="CSV file to write")
    exp.add_argument("--parquet", help="Parquet file to write (needs imr-llm[export])")
    exp.set_defaults(run=_export)

    rep = commands.add_parser("report", help="counts and overturn rates from extract --out JSONL: HTML and CSVs")
    rep.add_argument("results", nargs="+", help="JSONL written by extract --out (its .errors.jsonl is read too)")
    rep.add_argument("--out", required=True, help="HTML page to write")
    rep.add_argument("--csv-dir", help="folder for one CSV per table (default: <out stem>_csv beside the page)")
    rep.add_argument("--exclude-needs-review", action="store_true", help="leave records that need review out of "
                     "the counts (they are counted in the quality table either way)")  # fmt: skip
    rep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    rep.set_defaults(run=_report)

    ev = commands.add_parser("eval", help="score a model and prompt against gold records")
    _model_options(ev)
    ev.add_argument("--samples", default="evals/samples", help="folder of letters (*.txt, *.pdf)")
    ev.add_argument("--gold", action="append", help="folder of gold records (<letter>.json); repeat it "
                    "to search several, the first holding a letter's record wins (default evals/gold)")  # fmt: skip
    ev.add_argument("--out", default="evals/reports/latest.json", help="JSON report (Markdown beside it)")
    ev.add_argument(
        "--fail-under", type=float, metavar="SCORE",
        help="exit 1 when field accuracy is below SCORE (failed letters count as misses, never crash the run)",
    )  # fmt: skip
    ev.add_argument("--review-dir", help="also write a review page per letter, mismatches with gold marked")
    ev.set_defaults(run=_eval, eval_command=None)

    rv = commands.add_parser("review", help="an HTML page: the letter with each value's source highlighted")
    rv.add_argument("letter", help="letter .txt or .pdf")
    _model_options(rv)
    rv.add_argument("--out", required=True, help="HTML file to write")
    rv.add_argument("--gold", help="a gold record (JSON) to mark disagreements against")
    rv.set_defaults(run=_review)
    ev_commands = ev.add_subparsers(dest="eval_command")
    cmp = ev_commands.add_parser("compare", help="per-field deltas between two JSON reports")
    cmp.add_argument("a", help="baseline report.json")
    cmp.add_argument("b", help="candidate report.json")

    ob = commands.add_parser("openai-batch", help="OpenAI Batch API: prepare, submit, status, download, collect")
    ob_commands = ob.add_subparsers(dest="batch_command", required=True)
    prep = ob_commands.add_parser("prepare", help="write the Batch API request JSONL for letters")
    prep.add_argument("inputs", nargs="+", metavar="PATH")
    prep.add_argument("--model", required=True)
    prep.add_argument("--out", required=True, help="request JSONL to upload")
    sub = ob_commands.add_parser("submit", help="upload a request file and start the batch; prints its id")
    sub.add_argument("requests")
    for name, text in (("status", "show a batch's state"), ("download", "save a completed batch's result lines")):
        cmd = ob_commands.add_parser(name, help=text)
        cmd.add_argument("batch_id")
        if name == "download":
            cmd.add_argument("--out", required=True)
    col = ob_commands.add_parser("collect", help="validate downloaded results into extract-style JSONL")
    col.add_argument("results", help="downloaded result JSONL")
    col.add_argument("inputs", nargs="+", metavar="PATH", help="the letters the requests were written from")
    col.add_argument("--out", required=True)
    for cmd in ob_commands.choices.values():
        cmd.add_argument("--base-url", help="Batch API endpoint (default: OpenAI)")
        if cmd in (prep, col):
            cmd.add_argument("--prompt", help="the prompt the requests were (or are to be) written with")
            cmd.add_argument("--mode", help="instructor mode (default tools)")
    ob.set_defaults(run=_openai_batch)

    cache = commands.add_parser("cache", help="inspect or clear the record cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    for name, run, text in (("clear", _cache_clear, "delete every cached record"),
                            ("info", _cache_info, "where the cache is and how many records")):  # fmt: skip
        sub = cache_commands.add_parser(name, help=text)
        sub.add_argument("--dir", help="record cache folder, as given to extract --cache-dir")
        sub.set_defaults(run=run)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, systemd, job schedulers), handled exactly like Ctrl-C."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Stop now: the batch has already finished the line it was writing and closed its files;
    the embedded server is stopped (and not restarted by a request still in flight); the exit
    status is the shell's convention, 128 + the signal."""
    from imr_llm.embedded import default_server

    default_server.close()
    signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
    print("terminated" if signum == signal.SIGTERM else "interrupted", file=sys.stderr)
    code = 128 + signum
    if threading.active_count() > 1:  # letters abandoned in flight: their threads are not waited for
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


STDOUT_CLOSED = 128 + signal.SIGPIPE
"""Exit status when the reader of stdout left (`imr-llm extract … | head`): what a Unix tool
killed by SIGPIPE reports. Not 0, because rows the reader never got were not delivered (0 means
every letter was extracted and written); not a message, because leaving early is the reader's choice."""


def _user_errors() -> tuple[type[BaseException], ...]:
    """What `main` reports as one line: our errors, OS errors and the openai client's (only
    loaded once a model was called; a run that called none raised none of them)."""
    openai = sys.modules.get("openai")
    return (ImrLlmError, OSError, *((openai.OpenAIError,) if openai is not None else ()))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        code = args.run(args)
        sys.stdout.flush()  # a reader gone while output sat in the buffer shows here, not at exit
        return code
    except BrokenPipeError:  # before OSError, which it is: a closed stdout is not a failure to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit must not fail again
        return STDOUT_CLOSED
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except OutputPathError as exc:  # bad usage: an output that would overwrite or be read as an input
        _warn(args.command, str(exc))
        return 2
    except _user_errors() as exc:  # a message a user can act on, not a traceback
        _warn(args.command, f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
