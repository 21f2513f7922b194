"""A job's questions answered by a live endpoint: the one place a model is called.

`EndpointAsker` puts each question to the endpoint through instructor: validation re-asks
(bounded by `Options.max_reasks` and `token_budget`) inside a transport retry loop
(`RetryPolicy`). Every completion and every failed attempt's tokens are counted into the job.
When no valid answer comes, the failure is an `ExtractionError` whose `kind` says why
(transient, truncated, budget, validation, api) and whose message never quotes the letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openai
from instructor.core.exceptions import (
    IncompleteOutputException,
    InstructorError,
    InstructorRetryException,
    TokenBudgetError,
)
from pydantic import ValidationError

from imr_llm import client as clients
from imr_llm.errors import ExtractionError
from imr_llm.job import Job, M
from imr_llm.result import Usage
from imr_llm.retry import transient_cause
from imr_llm.salvage import describe

_RETRIED = (InstructorError, openai.OpenAIError)


@dataclass(frozen=True)
class EndpointAsker:
    """Answers a job's questions by calling `endpoint` (an `Asker`)."""

    endpoint: clients.Endpoint

    def __call__(self, job: Job, response_model: type[M], messages: list[dict[str, Any]]) -> M:
        """One answer of `response_model`, within the re-ask and transport retry bounds."""
        options = job.options
        llm = clients.instructor_client(self.endpoint, options.timeout)

        def count_call(*_: Any, **__: Any) -> None:
            job.calls += 1

        llm.on("completion:kwargs", count_call)
        request = {
            "model": self.endpoint.model,
            "messages": messages,
            "response_model": response_model,
            "max_retries": options.max_reasks,
            "token_budget": options.token_budget,
            **options.generation(),
        }
        try:
            for attempt in options.retry.retrying():
                with attempt:
                    try:
                        with self.endpoint.turn():
                            answer, completion = llm.create_with_completion(**request)
                    except _RETRIED as exc:
                        job.usage += _usage_of(exc)
                        if self.endpoint.server is not None and transient_cause(exc) is not None:
                            self.endpoint.server.raise_if_crashed()  # a dead server is final, not retried
                        raise
        except _RETRIED as exc:
            kind, message = _describe(exc)
            raise ExtractionError(message, kind=kind, attempts=job.calls, usage=job.usage) from exc
        job.usage += Usage.of(getattr(completion, "usage", None))
        # A plain copy: instructor pins the raw completion on the model it returns.
        return response_model.model_validate_json(answer.model_dump_json())


def _usage_of(exc: BaseException) -> Usage:
    """Tokens a failed attempt still spent (instructor keeps them on its exceptions)."""
    total = getattr(exc, "total_usage", None)
    if total is None:
        total = getattr(getattr(exc, "last_completion", None), "usage", None)
    return Usage.of(total)


def _describe(exc: Exception) -> tuple[str, str]:
    """The failure's kind and a message that names what went wrong without the letter's values."""
    cause = transient_cause(exc)
    if cause is not None:
        return "transient", f"endpoint kept failing: {type(cause).__name__}"
    if isinstance(exc, IncompleteOutputException):
        return "truncated", "model output hit max_tokens before the record was complete"
    if isinstance(exc, TokenBudgetError):
        return "budget", str(exc).split("\n")[0]
    last = exc.__cause__
    if isinstance(exc, InstructorRetryException) and exc.failed_attempts:
        last = exc.failed_attempts[-1].exception
    if isinstance(last, ValidationError):
        return "validation", f"answer did not fit the schema: {describe(last)}"
    api = next((e for e in (exc, exc.__cause__) if isinstance(e, openai.APIStatusError)), None)
    if api is not None:
        return "api", f"endpoint refused the request: HTTP {api.status_code} {type(api).__name__}"
    return "validation" if last else "api", f"{type(last or exc).__name__}: model answer unusable"
