"""The OpenAI Files + Batches API with the real SDK: upload -> create -> poll -> download the
output and error files; another key sees nothing; cancel; the /batch/ page lists the job."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from batch.models import BatchJob
from batch.worker import Worker
from routing.models import ApiKey, Model
from routing.transport import records
from tests.batch.conftest import request_line
from tests.conftest import LiveServer
from tests.routing.conftest import assert_envelope
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers", "fast_timeouts")


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def worker() -> Iterator[Worker]:
    """`manage.py batch worker` on its own event loop in a thread, polling every 50 ms."""
    w = Worker(poll_seconds=0.05)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(w.serve(),), daemon=True)
    thread.start()
    yield w
    loop.call_soon_threadsafe(w.stop)
    thread.join(10)


@pytest.fixture
def other(live_app: LiveServer) -> openai.OpenAI:
    _, raw = ApiKey.issue("other")
    return openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)


def jsonl(lines: list[dict[str, Any] | str]) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def wait_done(client: openai.OpenAI, batch_id: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return batch
        time.sleep(0.1)


def test_upload_create_poll_download(client: openai.OpenAI, worker: Worker) -> None:
    """Two good lines and a malformed one: output has the two, the error file the third."""
    data = jsonl([request_line("a", "hello"), "{broken", request_line("b", "world")])
    uploaded = client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.bytes == len(data)
    assert uploaded.filename == "in.jsonl"
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert batch.status == "validating" and batch.input_file_id == uploaded.id
    done = wait_done(client, batch.id)
    assert done.status == "completed", done
    assert done.request_counts.total == 3
    assert done.request_counts.completed == 2 and done.request_counts.failed == 1
    assert done.metadata == {"job": "nightly"}
    output = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert sorted(line["custom_id"] for line in output) == ["a", "b"]
    assert all(line["response"]["status_code"] == 200 for line in output)
    assert output[0]["response"]["body"]["object"] == "chat.completion"
    errors = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
    assert [(e["custom_id"], e["error"]["code"]) for e in errors] == [("line-2", "invalid_json")]
    key = ApiKey.objects.get(name="test")
    records.writer.flush(10)
    rows = UsageRecord.objects.filter(source="batch", api_key=key)
    assert rows.count() == 2 and all(r.cost_usd for r in rows)
    files = {f.id for f in client.files.list().data}
    assert {uploaded.id, done.output_file_id, done.error_file_id} <= files
    assert batch.id in {b.id for b in client.batches.list().data}


def test_embeddings_batch(client: openai.OpenAI, worker: Worker, providers: Any) -> None:
    """A batch of /v1/embeddings lines; a chat line in it goes to the error file."""
    Model.objects.create(
        provider=providers["openai"],
        model_id="text-embedding-3-small",
        kind="embedding",
        dimensions=1536,
        prices_ref="openai:text-embedding-3-small",
        price_known=True,
        input_price=0.02,
    )
    line = {
        "custom_id": "e1",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "fakeai/text-embedding-3-small", "input": "vector me"},
    }
    data = jsonl([line, request_line("chat", "hi")])
    uploaded = client.files.create(file=("emb.jsonl", io.BytesIO(data)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
    )
    done = wait_done(client, batch.id)
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
    out = json.loads(client.files.content(done.output_file_id).text)
    assert out["custom_id"] == "e1"
    assert len(out["response"]["body"]["data"][0]["embedding"]) == 1536
    err = json.loads(client.files.content(done.error_file_id).text)
    assert err["custom_id"] == "chat" and "not this batch's" in err["error"]["message"]


def test_another_key_sees_nothing(client: openai.OpenAI, other: openai.OpenAI) -> None:
    """Files and batches of one key are 404 for another, and absent from its lists."""
    uploaded = client.files.create(
        file=("in.jsonl", io.BytesIO(jsonl([request_line("a", "x")]))), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    for call in (
        lambda: other.files.retrieve(uploaded.id),
        lambda: other.files.content(uploaded.id),
        lambda: other.files.delete(uploaded.id),
        lambda: other.batches.retrieve(batch.id),
        lambda: other.batches.cancel(batch.id),
        lambda: other.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert other.files.list().data == [] and other.batches.list().data == []
    assert client.files.retrieve(uploaded.id).id == uploaded.id


def test_cancel_and_delete(client: openai.OpenAI) -> None:
    """A queued batch is cancelled at once; cancelling again is a 409; a file can be deleted."""
    uploaded = client.files.create(
        file=("in.jsonl", io.BytesIO(jsonl([request_line("a", "x")]))), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)
    assert client.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_jobs_are_picked_up_in_order(client: openai.OpenAI) -> None:
    """The worker runs API batches in the order they were created."""
    ids = []
    for n in range(3):
        data = jsonl([request_line(f"r{n}", f"prompt {n}")])
        up = client.files.create(file=(f"{n}.jsonl", io.BytesIO(data)), purpose="batch")
        ids.append(
            client.batches.create(
                input_file_id=up.id, endpoint="/v1/chat/completions", completion_window="24h"
            ).id
        )
    assert asyncio.run(Worker(poll_seconds=0.05).serve(once=True)) == 3
    jobs = list(BatchJob.objects.filter(public_id__in=ids).order_by("started_at", "id"))
    assert [j.public_id for j in jobs] == ids
    assert all(client.batches.retrieve(i).status == "completed" for i in ids)


def test_bad_input_names_the_field(
    client: openai.OpenAI, live_app: LiveServer, api_key: str, settings: Any
) -> None:
    """Wrong purpose, endpoint, window, unknown file, too large an upload, not a batch."""
    http = httpx.Client(
        base_url=live_app.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    )
    files = {"file": ("a.jsonl", jsonl([request_line("a", "x")]))}
    error = assert_envelope(http.post("/v1/files", files=files, data={"purpose": "fine-tune"}), 400)
    assert error["param"] == "purpose"
    assert assert_envelope(http.post("/v1/files", data={"purpose": "batch"}), 400)["param"] in (
        "file",
        None,
    )
    assert_envelope(http.post("/v1/files", json={"purpose": "batch"}), 400)
    settings.SWITCHYARD_FILE_MAX_BYTES = 10
    error = assert_envelope(http.post("/v1/files", files=files, data={"purpose": "batch"}), 413)
    assert error["param"] == "file"
    settings.SWITCHYARD_FILE_MAX_BYTES = 1024 * 1024
    up = client.files.create(file=("a.jsonl", io.BytesIO(files["file"][1])), purpose="batch")
    base = {"input_file_id": up.id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    for change, param in [
        ({"endpoint": "/v1/images"}, "endpoint"),
        ({"completion_window": "1y"}, "completion_window"),
        ({"input_file_id": "file-nope"}, "id"),
        ({"input_file_id": None}, "input_file_id"),
    ]:
        response = http.post("/v1/batches", json={**base, **change})
        error = assert_envelope(response, 404 if param == "id" else 400)
        assert error["param"] == param, error
    binary = client.files.create(file=("b.jsonl", io.BytesIO(b"\x00\x01")), purpose="batch")
    error = assert_envelope(
        http.post("/v1/batches", json={**base, "input_file_id": binary.id}), 400
    )
    assert error["param"] == "input_file_id"
    assert_envelope(http.post("/v1/batches", content=b"{no"), 400)
    assert_envelope(http.get("/v1/files?limit=0"), 400)
    assert_envelope(http.get("/v1/batches/batch_missing"), 404)


def test_batch_page_shows_api_jobs(client: openai.OpenAI, admin_client: Any) -> None:
    """The /batch/ page lists jobs made through the API with their batch id."""
    up = client.files.create(
        file=("api.jsonl", io.BytesIO(jsonl([request_line("a", "x")]))), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=up.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    page = admin_client.get("/batch/").content.decode()
    assert "api.jsonl" in page and batch.id in page


def test_responses_batch(client: openai.OpenAI, worker: Worker) -> None:
    """A batch of /v1/responses lines answers each with a Responses response object."""
    line = {
        "custom_id": "r1",
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "fakeai/gpt-4o", "input": "batch me"},
    }
    bad = {**line, "custom_id": "r2", "body": {"model": "fakeai/gpt-4o"}}
    uploaded = client.files.create(
        file=("r.jsonl", io.BytesIO(jsonl([line, bad]))), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h"
    )
    done = wait_done(client, batch.id)
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
    out = json.loads(client.files.content(done.output_file_id).text)
    assert out["response"]["body"]["object"] == "response"
    assert out["response"]["body"]["output"][0]["content"][0]["text"].startswith("Hello from")
    err = json.loads(client.files.content(done.error_file_id).text)
    assert err["custom_id"] == "r2" and err["response"]["status_code"] == 400
    records.writer.flush(10)
    assert UsageRecord.objects.filter(source="batch", protocol="responses").count() == 1
