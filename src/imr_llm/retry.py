"""When to retry a failed model call, and how long to wait.

Two bounded loops, kept apart on purpose: instructor re-asks when an *answer* fails
validation (`max_reasks`, plus a token budget); this policy retries when the *endpoint*
fails in a way that may pass — 408/409/429, 5xx, timeouts, dropped connections — with
exponential backoff and jitter, honouring Retry-After, bounded in attempts and seconds.
The openai client's own retries are switched off so this is the only transport loop.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from imr_llm.errors import ImrLlmError

RETRYABLE_STATUS = frozenset({408, 409, 429})


def transient_cause(exc: BaseException | None) -> BaseException | None:
    """The transient API error behind `exc` (instructor wraps them), or None."""
    import openai  # only ever asked after a model call, which has imported it

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            return exc
        if isinstance(exc, openai.APIStatusError) and (exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """Seconds asked for by a Retry-After (or retry-after-ms) header, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    if ms := headers.get("retry-after-ms"):
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for transport retries: attempts, total seconds, and the backoff shape."""

    max_attempts: int = 5
    max_seconds: float = 300.0
    initial_wait: float = 1.0
    max_wait: float = 30.0

    def _wait(self, state: RetryCallState) -> float:
        exc = transient_cause(state.outcome.exception() if state.outcome else None)
        asked = retry_after_seconds(exc)
        if asked is not None:  # the server knows best, within the total time bound
            return min(asked, self.max_seconds)
        return wait_exponential_jitter(multiplier=self.initial_wait, max=self.max_wait)(state)

    def retrying(self) -> Retrying:
        return Retrying(
            # Our own errors (e.g. the embedded server crashed) are final even when raised while
            # handling a transient one.
            retry=retry_if_exception(lambda e: not isinstance(e, ImrLlmError) and transient_cause(e) is not None),
            wait=self._wait,
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_seconds),
            reraise=True,
        )
