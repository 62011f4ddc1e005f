"""The OpenAI Files and Batches APIs on top of the batch runner and worker (sync, plain Django).

Files and batches belong to one API key and are invisible to any other. A batch is a
`BatchJob` the worker runs like any other (in order of creation); when it finishes, its
output is split into OpenAI's output file (successful lines) and error file (every line that
failed, malformed lines included), both files of the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from django.db import transaction

from batch.inputs import URLS, InputRefused, read_input
from batch.models import BatchJob, File, public_id
from batch.runner import Options
from routing.errors import GatewayError, invalid

ENDPOINTS = URLS
COMPLETION_WINDOWS = ("24h",)
LIST_LIMIT = 100
Status = BatchJob.Status


def not_found(kind: str, ident: str) -> GatewayError:
    return GatewayError(404, f"No such {kind}: '{ident}'.", code="not_found", param="id")


def _stamp(value: Any) -> int | None:
    return int(value.timestamp()) if value is not None else None


def file_object(file: File) -> dict[str, Any]:
    return {
        "id": file.public_id,
        "object": "file",
        "bytes": file.size_bytes,
        "created_at": _stamp(file.created_at),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }


def create_file(key_id: int, purpose: str, filename: str, data: bytes) -> dict[str, Any]:
    if purpose != File.Purpose.BATCH:
        raise invalid(f"'purpose' must be 'batch', not {purpose!r}.", param="purpose")
    if not data:
        raise invalid("The uploaded file is empty.", param="file")
    return file_object(File.store(key_id, purpose, filename, data))


def get_file(key_id: int, ident: str) -> File:
    found = File.objects.filter(api_key_id=key_id, public_id=ident).first()
    if found is None:
        raise not_found("file", ident)
    return found


def _page(objects: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": objects,
        "first_id": objects[0]["id"] if objects else None,
        "last_id": objects[-1]["id"] if objects else None,
        "has_more": has_more,
    }


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= LIST_LIMIT:
        raise invalid(f"'limit' must be a whole number from 1 to {LIST_LIMIT}.", param="limit")
    return int(raw)


def _after(rows: Any, model: type, key_id: int, after: str | None) -> Any:
    if not after:
        return rows
    cursor = model.objects.filter(api_key_id=key_id, public_id=after).first()  # type: ignore[attr-defined]
    if cursor is None:
        raise invalid(f"'after' names no object of yours: {after!r}.", param="after")
    return rows.filter(id__lt=cursor.id)


def list_files(key_id: int, purpose: str | None, limit: str | None, after: str | None) -> Any:
    rows = File.objects.filter(api_key_id=key_id).order_by("-id")
    if purpose:
        rows = rows.filter(purpose=purpose)
    count = _limit(limit)
    found = list(_after(rows, File, key_id, after)[: count + 1])
    return _page([file_object(f) for f in found[:count]], len(found) > count)


def delete_file(key_id: int, ident: str) -> dict[str, Any]:
    get_file(key_id, ident).remove()
    return {"id": ident, "object": "file", "deleted": True}


def file_content(key_id: int, ident: str) -> bytes:
    path = Path(get_file(key_id, ident).path)
    if not path.is_file():
        raise GatewayError(404, f"The content of '{ident}' is gone.", code="not_found")
    return path.read_bytes()


STATUS_NAMES = {
    Status.QUEUED: "validating",
    Status.RUNNING: "in_progress",
    Status.DONE: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
}


def _status(job: BatchJob) -> str:
    if job.status == Status.RUNNING and job.cancel_requested:
        return "cancelling"
    if job.status == Status.RUNNING and job.total and job.done + job.failed >= job.total:
        return "finalizing"
    return STATUS_NAMES[Status(job.status)]


def _public(file: File | None) -> str | None:
    return file.public_id if file is not None else None


def batch_object(job: BatchJob) -> dict[str, Any]:
    finished = _stamp(job.finished_at)
    errors = None
    if job.status == Status.FAILED:
        errors = {"object": "list", "data": [{"code": "failed", "message": job.error}]}
    return {
        "id": job.public_id,
        "object": "batch",
        "endpoint": job.endpoint,
        "errors": errors,
        "input_file_id": _public(job.input_file),
        "completion_window": job.completion_window,
        "status": _status(job),
        "output_file_id": _public(job.output_file),
        "error_file_id": _public(job.error_file),
        "created_at": _stamp(job.created_at),
        "in_progress_at": _stamp(job.started_at),
        "expires_at": None,
        "finalizing_at": None,
        "completed_at": finished if job.status == Status.DONE else None,
        "failed_at": finished if job.status == Status.FAILED else None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": finished if job.status == Status.CANCELLED else None,
        "request_counts": {
            "total": job.total,
            "completed": job.done,
            "failed": job.failed,
        },
        "metadata": job.metadata or None,
    }


def _checked(data: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    ident, endpoint = data.get("input_file_id"), data.get("endpoint")
    window, metadata = data.get("completion_window"), data.get("metadata") or {}
    if not isinstance(ident, str) or not ident:
        raise invalid("Missing required parameter: 'input_file_id'.", param="input_file_id")
    if endpoint not in ENDPOINTS:
        names = ", ".join(ENDPOINTS)
        raise invalid(f"'endpoint' must be one of {names}, not {endpoint!r}.", param="endpoint")
    if window not in COMPLETION_WINDOWS:
        raise invalid(
            f"'completion_window' must be '24h', not {window!r}.", param="completion_window"
        )
    if not isinstance(metadata, dict):
        raise invalid("'metadata' must be an object.", param="metadata")
    return ident, endpoint, window, metadata


def create_batch(key_id: int, data: dict[str, Any]) -> dict[str, Any]:
    ident, endpoint, window, metadata = _checked(data)
    source = get_file(key_id, ident)
    if source.purpose != File.Purpose.BATCH:
        raise invalid(f"File '{ident}' is not a batch input file.", param="input_file_id")
    try:
        total = len(read_input(Path(source.path)).items)
    except (InputRefused, OSError) as exc:
        raise invalid(f"File '{ident}' is not a batch: {exc}", param="input_file_id") from None
    options = Options(endpoint=endpoint, api_key_id=key_id)
    job = BatchJob.objects.create(
        name=source.filename,
        public_id=public_id("batch_"),
        api_key_id=key_id,
        endpoint=endpoint,
        completion_window=window,
        metadata=metadata,
        input_file=source,
        input_path=source.path,
        options=options.as_json(),
        total=total,
    )
    base = Path(source.path).with_name(f"{job.public_id}")
    job.output_path = str(base.with_name(base.name + "-lines.jsonl"))
    job.summary_path = str(base.with_name(base.name + "-summary.json"))
    job.save(update_fields=["output_path", "summary_path"])
    return batch_object(job)


def get_batch(key_id: int, ident: str) -> BatchJob:
    found = (
        BatchJob.objects.select_related("input_file", "output_file", "error_file")
        .filter(api_key_id=key_id, public_id=ident)
        .first()
    )
    if found is None:
        raise not_found("batch", ident)
    return found


def list_batches(key_id: int, limit: str | None, after: str | None) -> dict[str, Any]:
    rows = BatchJob.objects.filter(api_key_id=key_id).order_by("-id")
    rows = rows.select_related("input_file", "output_file", "error_file")
    count = _limit(limit)
    found = list(_after(rows, BatchJob, key_id, after)[: count + 1])
    return _page([batch_object(j) for j in found[:count]], len(found) > count)


def cancel_batch(key_id: int, ident: str) -> dict[str, Any]:
    job = get_batch(key_id, ident)
    if job.status in BatchJob.FINISHED:
        raise GatewayError(
            409, f"Batch '{ident}' is already {batch_object(job)['status']}.", code="conflict"
        )
    job.request_cancel()
    return batch_object(get_batch(key_id, ident))


def _split(lines_path: Path) -> tuple[bytes, bytes]:
    """Successful lines, and failed ones (an error, or a status other than 200)."""
    good: list[bytes] = []
    bad: list[bytes] = []
    if lines_path.is_file():
        for raw in lines_path.read_bytes().splitlines():
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            ok = not line.get("error") and (line.get("response") or {}).get("status_code") == 200
            (good if ok else bad).append(raw + b"\n")
    return b"".join(good), b"".join(bad)


@transaction.atomic
def finalize(job: BatchJob) -> None:
    """After the worker ran an API batch: its output and error files (when they have lines)."""
    if job.api_key_id is None or job.public_id is None:
        return
    good, bad = _split(Path(job.output_path))
    fields = []
    if good:
        job.output_file = File.store(
            job.api_key_id, File.Purpose.BATCH_OUTPUT, f"{job.public_id}_output.jsonl", good
        )
        fields.append("output_file")
    if bad:
        job.error_file = File.store(
            job.api_key_id, File.Purpose.BATCH_OUTPUT, f"{job.public_id}_error.jsonl", bad
        )
        fields.append("error_file")
    if fields:
        job.save(update_fields=fields)
