"""The OpenAI Files door (/v1/files): upload a batch input (multipart, purpose=batch, with a
size limit), list, retrieve, download the content, delete. Storage lives in batch/api.py;
this module speaks the wire format."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from asgiref.sync import sync_to_async
from django.conf import settings

from batch import api
from routing.doors import openai_paths
from routing.doors.base import Reply, json_reply
from routing.doors.openai_paths import Request
from routing.errors import GatewayError, invalid
from routing.guards.keys import authenticate_header


async def key_id(request: Request) -> int:
    key, _ = await authenticate_header(request.headers.get("authorization", ""))
    return key.id


def _parts(request: Request) -> dict[str, Message]:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise invalid("Upload the file as multipart/form-data with 'file' and 'purpose'.")
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise invalid("The multipart body could not be read.")
    parts: dict[str, Message] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts[name] = part
    return parts


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _upload(request: Request) -> tuple[str, str, bytes]:
    parts = _parts(request)
    if "file" not in parts:
        raise invalid("Missing required parameter: 'file'.", param="file")
    if "purpose" not in parts:
        raise invalid("Missing required parameter: 'purpose'.", param="purpose")
    data = _payload(parts["file"])
    purpose = _payload(parts["purpose"]).decode(errors="replace")
    if len(data) > settings.SWITCHYARD_FILE_MAX_BYTES:
        raise GatewayError(
            413,
            f"The file is larger than {settings.SWITCHYARD_FILE_MAX_BYTES} bytes.",
            code="file_too_large",
            param="file",
        )
    filename = parts["file"].get_filename() or "upload.jsonl"
    return purpose.strip(), filename, data


async def create(request: Request) -> Reply:
    owner = await key_id(request)
    purpose, filename, data = _upload(request)
    return json_reply(await sync_to_async(api.create_file)(owner, purpose, filename, data))


async def listing(request: Request) -> Reply:
    owner = await key_id(request)
    args = (request.arg("purpose"), request.arg("limit"), request.arg("after"))
    return json_reply(await sync_to_async(api.list_files)(owner, *args))


async def retrieve(request: Request) -> Reply:
    owner = await key_id(request)
    found = await sync_to_async(api.get_file)(owner, request.params[0])
    return json_reply(api.file_object(found))


async def delete(request: Request) -> Reply:
    owner = await key_id(request)
    return json_reply(await sync_to_async(api.delete_file)(owner, request.params[0]))


async def content(request: Request) -> Reply:
    owner = await key_id(request)
    data = await sync_to_async(api.file_content)(owner, request.params[0])
    return Reply(200, {}, data, content_type="application/jsonl")


openai_paths.route("/v1/files", POST=create, GET=listing)
openai_paths.route("/v1/files/([A-Za-z0-9_-]+)", GET=retrieve, DELETE=delete)
openai_paths.route("/v1/files/([A-Za-z0-9_-]+)/content", GET=content)
