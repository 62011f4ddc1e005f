"""Chat-completion chunks as the Responses API's stream events, in OpenAI's documented order:
response.created, response.in_progress, then per output item output_item.added,
content_part.added, output_text.delta... / function_call_arguments.delta..., their .done
events and output_item.done, and last response.completed (or .incomplete / .failed), each
with its sequence_number."""

from __future__ import annotations

from typing import Any

import orjson

from routing.doors import responses_translate as rt


def sse(event: dict[str, Any]) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class EventWriter:
    """Feed chat chunks' data; get the Responses events (as dicts) they make."""

    def __init__(self, req: dict[str, Any], ident: str, model: str) -> None:
        self.req, self.ident, self.model = req, ident, model
        self.seq = 0
        self.output: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish = "stop"

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return event

    def _response(self, status: str) -> dict[str, Any]:
        body = rt.envelope(self.req, self.ident, self.model, status)
        body["output"] = list(self.output)
        return body

    def start(self) -> list[dict[str, Any]]:
        response = self._response("in_progress")
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def _open_message(self) -> list[dict[str, Any]]:
        self.message = rt.message_item("", status="in_progress")
        self.output.append(self.message)
        index = len(self.output) - 1
        part = {"type": "output_text", "text": "", "annotations": []}
        return [
            self._event("response.output_item.added", output_index=index, item=self.message),
            self._event(
                "response.content_part.added",
                item_id=self.message["id"],
                output_index=index,
                content_index=0,
                part=part,
            ),
        ]

    def _close_message(self) -> list[dict[str, Any]]:
        if self.message is None:
            return []
        message, text = self.message, "".join(self.text)
        index = self.output.index(message)
        part = {"type": "output_text", "text": text, "annotations": []}
        message.update(status="completed", content=[part])
        ids = {"item_id": message["id"], "output_index": index, "content_index": 0}
        self.message = None
        return [
            self._event("response.output_text.done", **ids, text=text),
            self._event("response.content_part.done", **ids, part=part),
            self._event("response.output_item.done", output_index=index, item=message),
        ]

    def _text(self, delta: str) -> list[dict[str, Any]]:
        events = self._open_message() if self.message is None else []
        self.text.append(delta)
        assert self.message is not None
        index = self.output.index(self.message)
        events.append(
            self._event(
                "response.output_text.delta",
                item_id=self.message["id"],
                output_index=index,
                content_index=0,
                delta=delta,
            )
        )
        return events

    def _call(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        position = int(call.get("index") or 0)
        function = call.get("function") or {}
        item = self.calls.get(position)
        if item is None:
            events += self._close_message()
            item = rt.call_item({"id": call.get("id"), "function": {"name": function.get("name")}})
            item.update(status="in_progress", arguments="")
            self.calls[position] = item
            self.output.append(item)
            index = len(self.output) - 1
            events.append(self._event("response.output_item.added", output_index=index, item=item))
        delta = function.get("arguments") or ""
        if delta:
            item["arguments"] += delta
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=self.output.index(item),
                    delta=delta,
                )
            )
        return events

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self._text(delta["content"])
            for call in delta.get("tool_calls") or ():
                events += self._call(call)
            self.finish = choice.get("finish_reason") or self.finish
        return events

    def _close_calls(self) -> list[dict[str, Any]]:
        events = []
        for item in self.calls.values():
            item["status"] = "completed"
            index = self.output.index(item)
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=item["arguments"],
                )
            )
            events.append(self._event("response.output_item.done", output_index=index, item=item))
        self.calls.clear()
        return events

    def finish_events(self, tokens: Any) -> list[dict[str, Any]]:
        events = self._close_message() + self._close_calls()
        status, details = rt.finish_status(self.finish)
        response = self._response(status)
        response.update(usage=rt.usage(tokens), incomplete_details=details)
        self.final = response
        kind = "response.completed" if status == "completed" else "response.incomplete"
        events.append(self._event(kind, response=response))
        return events

    def failed(self, code: str, message: str) -> list[dict[str, Any]]:
        response = self._response("failed")
        response["error"] = {"code": code, "message": message}
        return [self._event("response.failed", response=response)]
