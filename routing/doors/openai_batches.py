"""The OpenAI Batches door (/v1/batches): create a batch from an uploaded file, retrieve,
list and cancel it. The jobs run on the batch worker (batch/api.py holds the logic)."""

from __future__ import annotations

import orjson
from asgiref.sync import sync_to_async

from batch import api
from routing.doors import openai_paths
from routing.doors.base import Reply, json_reply
from routing.doors.openai_files import key_id
from routing.doors.openai_paths import Request
from routing.errors import invalid


async def create(request: Request) -> Reply:
    owner = await key_id(request)
    try:
        data = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return json_reply(await sync_to_async(api.create_batch)(owner, data))


async def retrieve(request: Request) -> Reply:
    owner = await key_id(request)
    job = await sync_to_async(api.get_batch)(owner, request.params[0])
    return json_reply(await sync_to_async(api.batch_object)(job))


async def listing(request: Request) -> Reply:
    owner = await key_id(request)
    args = (request.arg("limit"), request.arg("after"))
    return json_reply(await sync_to_async(api.list_batches)(owner, *args))


async def cancel(request: Request) -> Reply:
    owner = await key_id(request)
    return json_reply(await sync_to_async(api.cancel_batch)(owner, request.params[0]))


openai_paths.route("/v1/batches", POST=create, GET=listing)
openai_paths.route("/v1/batches/([A-Za-z0-9_-]+)", GET=retrieve)
openai_paths.route("/v1/batches/([A-Za-z0-9_-]+)/cancel", POST=cancel)
