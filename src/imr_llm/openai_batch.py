"""The OpenAI Batch API path, for corpora too large for one process.

`write_requests` turns letters into the Batch API's request JSONL — the same `whole`-letter
chat request `extract` would send (prompt, tool schema, generation settings), built by
instructor's own request preparation for the chosen mode. `submit`, `status` and
`download` are thin calls on the endpoint's Files and Batches APIs. `collect` reads the
output file back through the same `Extractor` and `whole` strategy as a live run, the job's
one question answered by the downloaded answer instead of the endpoint (there is no re-ask: a
disagreement with the layout is settled by the layout), and appends to the same JSONL rows
and errors file as `imr_llm.batch` (`imr_llm.rows.Output`).

A request's `custom_id` is `<sha256>:<letter id>`, so results are matched to the very bytes
that were sent: a letter edited since `write_requests` is reported, not mislabeled.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import openai
from instructor import Mode
from instructor.core.exceptions import IncompleteOutputException
from instructor.processing.response import handle_response_model, process_response
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from imr_llm import client as clients
from imr_llm import structure
from imr_llm.errors import ConfigError, ExtractionError, ImrLlmError, InvalidLetterError
from imr_llm.extract import Extractor
from imr_llm.files import private_file
from imr_llm.job import Job, M
from imr_llm.options import Options
from imr_llm.pointers import Pointed
from imr_llm.prompts import Prompt
from imr_llm.result import Usage
from imr_llm.rows import Outcome, Output, errors_path, plan
from imr_llm.sources import Letter, discover
from imr_llm.strategies import pointing_messages

ENDPOINT = "/v1/chat/completions"


def custom_id(letter: Letter) -> str:
    return f"{letter.sha256}:{letter.id}"


def _extractor(model: str, prompt: Prompt | str | Path | None, mode: str, options: Options) -> Extractor:
    """The `whole` extractor whose first request the batch sends, named as OpenAI's `model`."""
    return Extractor.resolve(model=model, base_url=clients.OPENAI_BASE_URL, mode=mode, prompt=prompt,
                             strategy="whole", cache=False, options=options)  # fmt: skip


def request_body(text: str, extractor: Extractor) -> dict[str, Any]:
    """The chat-completions body a live `whole` extraction sends for this letter."""
    _, body = handle_response_model(
        Pointed,
        mode=extractor.endpoint.instructor_mode,
        model=extractor.endpoint.model,
        messages=pointing_messages(extractor.prompt, text, structure.parse(text)),
        **extractor.options.generation(),
    )
    return body


def write_requests(
    inputs: Iterable[str | Path],
    path: str | Path,
    *,
    model: str,
    prompt: Prompt | str | Path | None = None,
    mode: str = "tools",
    options: Options | None = None,
    errors: str | Path | None = None,
) -> tuple[int, int]:
    """Write one Batch API request per usable letter; unusable letters go to `errors`.
    Returns (requests written, letters refused)."""
    extractor = _extractor(model, prompt, mode, options or Options())
    written = refused = 0
    errors = errors or errors_path(path)
    with private_file(path) as fh, Output(None, errors) as failures:  # requests carry whole letters
        for letter in discover(inputs):
            try:
                text = letter.read(extractor.options.max_chars)
            except (ImrLlmError, OSError) as exc:
                failures.write(Outcome(letter, error=exc))
                refused += 1
                continue
            body = request_body(text, extractor)
            line = {"custom_id": custom_id(letter), "method": "POST", "url": ENDPOINT, "body": body}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            written += 1
    return written, refused


def _client(base_url: str | None, api_key: str | None) -> openai.OpenAI:
    api_key = clients.openai_key(api_key)
    if not (api_key or base_url):
        raise ConfigError("the Batch API needs OPENAI_API_KEY (or base_url= for a compatible server)")
    return openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed")


def submit(
    requests: str | Path, *, base_url: str | None = None, api_key: str | None = None, window: str = "24h"
) -> str:
    """Upload the request file and start a batch; returns the batch id."""
    api = _client(base_url, api_key)
    with Path(requests).open("rb") as fh:
        uploaded = api.files.create(file=fh, purpose="batch")
    return api.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window=window).id


def status(batch_id: str, *, base_url: str | None = None, api_key: str | None = None) -> Any:
    """The batch object: `.status`, `.request_counts`, `.output_file_id`, `.error_file_id`."""
    return _client(base_url, api_key).batches.retrieve(batch_id)


def download(batch_id: str, path: str | Path, *, base_url: str | None = None, api_key: str | None = None) -> int:
    """Write a finished batch's output and error lines to `path`; returns the line count."""
    api = _client(base_url, api_key)
    batch = api.batches.retrieve(batch_id)
    if batch.status != "completed":
        raise ImrLlmError(f"batch {batch_id} is {batch.status}, not completed; check again later")
    text = "".join(api.files.content(f).text for f in (batch.output_file_id, batch.error_file_id) if f)
    with private_file(path) as fh:  # the answers hold the letters' medical details
        fh.write(text)
    return sum(1 for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class _Downloaded:
    """Answers a job's first question with what the Batch API answered (an `Asker`); a follow-up
    (a gap the rules left open) was never sent, so it is `unasked` and that field stays empty."""

    answer: BaseModel
    usage: Usage

    def __call__(self, job: Job, response_model: type[M], messages: list[dict[str, Any]]) -> M:
        if not isinstance(self.answer, response_model):
            raise ExtractionError("the Batch API answers one question a letter", kind="unasked",
                                  attempts=job.calls, usage=job.usage)  # fmt: skip
        job.calls += 1
        job.usage += self.usage
        return cast(M, self.answer)


def _answer(response: dict[str, Any], mode: Mode) -> tuple[ChatCompletion, _Downloaded]:
    """One output line's completion and its parsed answer, or the `ExtractionError` a live call would raise."""
    body = response.get("body") or {}
    usage = Usage.model_validate(body.get("usage") or {})
    if response.get("status_code") != 200 or not body.get("choices"):
        message = (body.get("error") or {}).get("message", "no completion")
        raise ExtractionError(f"batch request failed: HTTP {response.get('status_code')}: {message}",
                              kind="api", attempts=1, usage=usage)  # fmt: skip
    completion = ChatCompletion.model_validate(body)
    try:
        answer = process_response(completion, response_model=Pointed, stream=False, mode=mode)
    except IncompleteOutputException as exc:
        raise ExtractionError("model output hit max_tokens", kind="truncated", attempts=1, usage=usage) from exc
    except (ValidationError, ValueError, json.JSONDecodeError) as exc:
        reason = type(exc).__name__
        raise ExtractionError(f"answer did not fit the schema ({reason})", kind="validation",
                              attempts=1, usage=usage) from exc  # fmt: skip
    return completion, _Downloaded(answer, usage)


def _outcome(letter: Letter, response: dict[str, Any], extractor: Extractor) -> Outcome:
    """One output line's response, parsed and checked as a live `whole` answer would be."""
    try:
        completion, asker = _answer(response, extractor.endpoint.instructor_mode)
        answered_by = dataclasses.replace(extractor.endpoint, model=completion.model)
        result = dataclasses.replace(extractor, endpoint=answered_by).run(letter.path, asker=asker)
        return Outcome(letter, result=result)
    except (ImrLlmError, OSError) as exc:
        return Outcome(letter, error=exc)


@dataclass
class Collected:
    """What `collect` did: an outcome per matched line, and the ids of lines it passed over
    (already collected, or for a letter not under the inputs)."""

    outcomes: list[Outcome]
    passed_over: list[str]


def collect(
    results: str | Path,
    inputs: Iterable[str | Path],
    out: str | Path,
    *,
    prompt: Prompt | str | Path | None = None,
    mode: str = "tools",
    errors: str | Path | None = None,
) -> Collected:
    """Read a batch output file back into `out` (and `errors`), matching lines to the letters
    under `inputs`; letters already in `out` are passed over, so collecting twice is harmless."""
    extractor = _extractor("batch", prompt, mode, Options())  # no re-ask (the default); each answer names its model
    letters = {letter.id: letter for letter in plan(discover(inputs), out, None, False).todo}
    done = Collected([], [])
    with Output(out, errors) as output:
        for line in Path(results).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            sha256, _, letter_id = row.get("custom_id", "").partition(":")
            letter = letters.pop(letter_id, None)
            if letter is None:
                done.passed_over.append(letter_id)
                continue
            if letter.sha256 != sha256:
                changed = InvalidLetterError("letter changed since its batch request was written; send it again")
                outcome = Outcome(letter, error=changed)
            else:
                response = row.get("response") or {"body": {"error": row.get("error")}}
                outcome = _outcome(letter, response, extractor)
            done.outcomes.append(output.write(outcome))
    return done
