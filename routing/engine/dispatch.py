"""Execute a plan: attempts in order, bounded retries, fallback, deadlines, cooldown.

Streams may fail over only before anything reached the client: `open_stream` returns once
an attempt produced its first token, and what follows is relayed by `relay`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from routing.catalog.pricing import TokenUsage, estimate_tokens
from routing.conf import knobs
from routing.engine import assemble, cooldown, deadlines
from routing.engine.outcome import Answered, AttemptLog, Exhausted
from routing.engine.plan import Attempt, Plan
from routing.errors import GatewayError
from routing.guards import limits
from routing.providers import Chunk, Completion, UpstreamError, adapter_for

T = TypeVar("T")
QUOTA = "provider quota per minute reached"
NOT_CONFIGURED = "not_configured"  # an attempt skipped because its provider has no key


@dataclass(frozen=True)
class OpenStream:
    """A stream whose first token has arrived; `rest` yields the remaining chunks."""

    head: list[Chunk]
    rest: AsyncIterator[Chunk]
    answered: Answered


def merged_body(body: dict[str, Any], attempt: Attempt) -> dict[str, Any]:
    if not attempt.params:
        return body
    merged = {**body}
    for name, value in attempt.params.items():
        if name == "max_tokens":
            merged.pop("max_completion_tokens", None)
        if value is not None and name not in body:
            merged[name] = value
        elif value is not None and name == "max_tokens":
            merged[name] = min(value, body[name])
    return merged


def _backoff(retry: int, err: UpstreamError) -> float | None:
    """Seconds to wait before retrying the same model, or None to move on."""
    if err.retry_after is not None:
        return err.retry_after if err.retry_after <= knobs.SWITCHYARD_MAX_RETRY_AFTER else None
    return min(0.25 * (2**retry), 4.0)


async def _run(
    plan: Plan, started: float, tokens: int, op: Callable[[Attempt, float], Awaitable[T]]
) -> tuple[T, Attempt, tuple[AttemptLog, ...]]:
    """Try the plan's attempts in order; the first answer, its attempt and every attempt
    made. Raises `Exhausted` (with the attempts) when none answers. `op` gets each attempt
    and its first-token deadline (routing/engine/deadlines.py)."""
    deadline = started + knobs.SWITCHYARD_TOTAL_DEADLINE
    last: UpstreamError | None = None
    logs: list[AttemptLog] = []
    skipped: list[AttemptLog] = []
    single = len(plan.attempts) == 1
    for index, attempt in enumerate(plan.attempts):
        reason = await _unavailable(attempt, single, tokens)
        if reason:
            outcome = "skipped" if attempt.model.provider.configured else NOT_CONFIGURED
            log = AttemptLog(attempt.model.id, outcome, error=reason)
            logs.append(log)
            skipped.append(log)
            continue
        retries = knobs.SWITCHYARD_MAX_RETRIES if single else 0
        for retry in range(retries + 1):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise _deadline_error(logs)
            tried = time.perf_counter()
            try:
                async with asyncio.timeout(remaining):
                    result = await op(attempt, deadlines.first_token(plan, index))
            except (UpstreamError, TimeoutError) as exc:
                err = (
                    exc
                    if isinstance(exc, UpstreamError)
                    else UpstreamError("timeout", "Deadline reached.")
                )
                last = err
                logs.append(_log(attempt, err, tried))
                await cooldown.failed(attempt.model.id, err.retry_after)
                if err.kind == "bad_request":
                    raise _client_error(err, logs) from None
                wait = _backoff(retry, err) if err.retryable else None
                if wait is None or retry == retries:
                    break
                await asyncio.sleep(min(wait, max(0.0, deadline - time.perf_counter())))
                continue
            logs.append(AttemptLog(attempt.model.id, "ok", 200, _ms(tried)))
            return result, attempt, tuple(logs)
    raise _exhausted(plan, logs, last, skipped)


async def _unavailable(attempt: Attempt, single: bool, tokens: int) -> str:
    provider = attempt.model.provider
    if not provider.configured:
        return f"{provider.name} {provider.reason}"
    if not single and await cooldown.cooling(attempt.model.id):
        return "cooling down after repeated failures"
    if not await limits.provider_slot(attempt.model, tokens):
        return QUOTA
    return ""


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _log(attempt: Attempt, err: UpstreamError, started: float) -> AttemptLog:
    return AttemptLog(attempt.model.id, err.kind, err.status, _ms(started), err.message[:200])


def _deadline_error(logs: list[AttemptLog]) -> Exhausted:
    message = "The request deadline passed before any model answered."
    return Exhausted.new(tuple(logs), 504, message, "timeout_error", "deadline_exceeded")


def _client_error(err: UpstreamError, logs: list[AttemptLog]) -> Exhausted:
    refused = GatewayError(
        err.status or 400, err.message, "invalid_request_error", "upstream_rejected"
    )
    return Exhausted(refused, tuple(logs), "bad_request")


def _exhausted(
    plan: Plan, logs: list[AttemptLog], last: UpstreamError | None, skipped: list[AttemptLog]
) -> Exhausted:
    details = [a.as_dict() for a in logs]
    if last is None and skipped and all(s.error == QUOTA for s in skipped):
        quota = GatewayError(
            429,
            "The upstream's quota per minute is used up; try again shortly.",
            "rate_limit_error",
            "upstream_quota",
            headers={"Retry-After": "5"},
            details=details,
        )
        return Exhausted(quota, tuple(logs), "quota")
    if last is None and skipped and all(s.outcome == NOT_CONFIGURED for s in skipped):
        return Exhausted(_not_configured(plan, skipped, details), tuple(logs), NOT_CONFIGURED)
    if last is None:
        return Exhausted(_none_available(plan, skipped, details), tuple(logs))
    return Exhausted(_upstream_failed(last, details), tuple(logs), last.kind)


def _not_configured(plan: Plan, skipped: list[AttemptLog], details: Any) -> GatewayError:
    """Every target's provider lacks its key: a configuration problem that retrying cannot
    fix, so a status the SDKs do not retry (400, as for a named unconfigured model), and
    its own error type in the usage record (not an upstream error, not a fallback)."""
    headers = {"x-should-retry": "false"}  # the OpenAI and Anthropic SDKs honour it
    if not plan.route:
        return GatewayError(
            400,
            skipped[0].error,
            "invalid_request_error",
            "provider_not_configured",
            "model",
            headers=headers,
        )
    reasons = "; ".join(f"{a.model}: {a.error}" for a in skipped)
    return GatewayError(
        400,
        f"No model of route '{plan.route}' is configured ({reasons}).",
        "invalid_request_error",
        "route_not_configured",
        "model",
        headers=headers,
        details=details,
    )


def _none_available(plan: Plan, skipped: list[AttemptLog], details: Any) -> GatewayError:
    if not plan.route and skipped:
        return GatewayError(
            400, skipped[0].error, "invalid_request_error", "provider_not_configured", "model"
        )
    reasons = "; ".join(f"{a.model}: {a.error}" for a in skipped)
    return GatewayError(
        503,
        f"No model of this route is available ({reasons}).",
        "service_unavailable",
        "no_available_model",
        details=details,
    )


def _upstream_failed(last: UpstreamError, details: Any) -> GatewayError:
    if last.kind == "rate_limit":
        headers = {"Retry-After": str(max(1, round(last.retry_after or 1)))}
        return GatewayError(
            429,
            f"Rate limited upstream: {last.message}",
            "rate_limit_error",
            "rate_limit_exceeded",
            headers=headers,
            details=details,
        )
    if last.kind == "timeout":
        return GatewayError(504, last.message, "timeout_error", "upstream_timeout", details=details)
    return GatewayError(
        502, last.message, "upstream_error", f"upstream_{last.kind}", details=details
    )


async def complete(
    plan: Plan, body: dict[str, Any], started: float, tokens: int = 0
) -> tuple[Completion, Answered]:
    """Run a plan to its answer: the completion, and what happened (`Answered`). An attempt
    with a fallback after it is requested upstream as a stream (routing/engine/assemble.py),
    so a hung provider is left at its first-token deadline instead of the read timeout."""

    async def op(attempt: Attempt, first_token: float) -> Completion:
        if attempt is not plan.attempts[-1]:
            head, rest = await _open_attempt(attempt, body, first_token)
            return await assemble.collect(head, rest)
        adapter = adapter_for(attempt.model.provider.protocol)
        return await adapter.complete(
            attempt.model, merged_body(body, attempt), knobs.SWITCHYARD_REQUEST_TIMEOUT
        )

    completion, attempt, logs = await _run(plan, started, tokens, op)
    if completion.usage.input_tokens == 0 and completion.usage.output_tokens == 0:
        completion.usage = _estimated_usage(body, completion.body)
    return completion, Answered(attempt.model, logs, completion.usage, time.perf_counter())


def _estimated_usage(body: dict[str, Any], answer: dict[str, Any]) -> TokenUsage:
    """An upstream that reports no usage is priced on estimates, marked as such (never $0)."""
    text = "".join(
        str((c.get("message") or {}).get("content") or "") for c in answer.get("choices") or ()
    )
    return TokenUsage(
        input_tokens=estimate_input_tokens(body.get("messages") or []),
        output_tokens=estimate_tokens(len(text)),
        estimated=True,
    )


def _is_token(chunk: Chunk) -> bool:
    """Text, a tool call, a finish, or a reasoning model's thinking: the model is alive."""
    if chunk.text or chunk.finish_reason:
        return True
    for choice in chunk.data.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("tool_calls") or delta.get("reasoning_content") or delta.get("reasoning"):
            return True
    return False


async def _first_token(stream: AsyncIterator[Chunk], seconds: float) -> list[Chunk]:
    head: list[Chunk] = []
    async with asyncio.timeout(seconds):
        async for chunk in stream:
            head.append(chunk)
            if _is_token(chunk):
                return head
    raise UpstreamError("malformed", "The upstream stream ended without a token.")


async def _open_attempt(
    attempt: Attempt, body: dict[str, Any], first_token: float
) -> tuple[list[Chunk], AsyncIterator[Chunk]]:
    """One attempt's stream, once its first token has come within `first_token` seconds."""
    adapter = adapter_for(attempt.model.provider.protocol)
    stream = adapter.stream(
        attempt.model, merged_body(body, attempt), knobs.SWITCHYARD_STALL_TIMEOUT
    )
    try:
        head = await _first_token(stream, first_token)
    except BaseException as exc:
        await stream.aclose()  # type: ignore[attr-defined]
        if isinstance(exc, TimeoutError):
            raise UpstreamError("timeout", f"No first token within {first_token:g} s.") from None
        raise
    return head, stream


async def open_stream(
    plan: Plan, body: dict[str, Any], started: float, tokens: int = 0
) -> OpenStream:
    """Run a plan to its first token; `answered` says which attempt got there, and when."""

    async def op(attempt: Attempt, first_token: float) -> tuple[list[Chunk], AsyncIterator[Chunk]]:
        return await _open_attempt(attempt, body, first_token)

    (head, rest), attempt, logs = await _run(plan, started, tokens, op)
    answered = Answered(attempt.model, logs, TokenUsage(), time.perf_counter())
    return OpenStream(head, rest, answered)


def estimate_input_tokens(messages: list[Any]) -> int:
    chars = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else message.content
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(str(part.get("text", ""))) for part in content)
    return estimate_tokens(chars)


def with_estimates(usage: TokenUsage, messages: list[Any]) -> TokenUsage:
    """A stream cut before the usage chunk still records what it consumed, marked estimated."""
    if usage.input_tokens:
        return usage
    return TokenUsage(
        input_tokens=estimate_input_tokens(messages),
        output_tokens=usage.output_tokens,
        estimated=True,
    )


async def call(
    plan: Plan, started: float, tokens: int, op: Callable[[Attempt], Awaitable[Completion]]
) -> tuple[Completion, Answered]:
    """Run `op` over the plan's attempts (retries, fallback, deadlines, cooldown): for doors
    whose upstream call is not a chat completion (embeddings, the legacy completions). These
    answer whole and cannot be streamed, so no first-token deadline applies: their attempts
    are bounded by the read timeout and the total deadline."""

    async def whole(attempt: Attempt, _first_token: float) -> Completion:
        return await op(attempt)

    completion, attempt, logs = await _run(plan, started, tokens, whole)
    return completion, Answered(attempt.model, logs, completion.usage, time.perf_counter())
