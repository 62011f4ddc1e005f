"""The fake OpenAI upstream's other endpoints: /v1/embeddings (and the rest of OpenAI's
non-chat API the gateway relays). Deterministic answers, the same faults as chat."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake_upstream import FakeUpstream, _Conn

NATIVE_DIMENSIONS = {"text-embedding-3-large": 3072, "mistral-embed": 1024}
DEFAULT_DIMENSIONS = 1536


def vector(text: str, dimensions: int) -> list[float]:
    """The fake's embedding of `text`: deterministic, a pure function of text and length."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}|{text}".encode()).digest()
        values += [(b - 127.5) / 127.5 for b in digest]
        counter += 1
    return values[:dimensions]


def _texts(raw: Any) -> list[str] | None:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(i, int) for i in raw):
        return [" ".join(map(str, raw))]
    if isinstance(raw, list) and raw and all(isinstance(i, str | list) for i in raw):
        return [i if isinstance(i, str) else " ".join(map(str, i)) for i in raw]
    return None


def _error(message: str) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


def embeddings(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    model = str(body.get("model") or "")
    texts = _texts(body.get("input"))
    if not model or texts is None:
        return 400, _error("'model' and a valid 'input' are required.")
    dims = int(body.get("dimensions") or NATIVE_DIMENSIONS.get(model, DEFAULT_DIMENSIONS))
    data = []
    for index, text in enumerate(texts):
        values = vector(text, dims)
        encoded: Any = values
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dims}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(t.split()) + 1 for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return 200, {"object": "list", "data": data, "model": model, "usage": usage}


HANDLERS = {"/openai/v1/embeddings": embeddings}


async def serve(conn: _Conn, fake: FakeUpstream, handler: Any, wire: Any) -> None:
    """Answer one non-chat request: auth, a queued status/drop fault, or the handler's JSON."""
    rec = conn.rec
    denied = wire.auth_error(rec.headers)
    if denied:
        return await conn.json(denied[0], denied[1], wire.headers())
    fault = fake._take_fault(rec.model)
    rec.fault = fault.kind if fault else None
    if fault and fault.kind == "drop":
        return await conn.cut()
    if fault and fault.kind == "status":
        headers = [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
        return await conn.json(fault.status, fault.body or wire.error(fault.status), headers)
    status, obj = handler(rec.body)
    await conn.json(status, obj, wire.headers())
