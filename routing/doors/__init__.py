"""Front doors: one module per inbound protocol, mirroring routing/providers/ (one module per
upstream protocol), and the raw ASGI entry that serves them.

The shape every door follows (N doors + M back doors = N + M adapters, not N x M):

1. `serves(method, path, headers)` says which requests are the door's; `routing/doors/table.py`
   asks each door in turn. `handle(method, path, headers, body, request_id) -> base.Reply` answers
   one of them, every failure in the door's own error envelope (guards and policies raise a
   `GatewayError`; only the door formats it).
2. Authenticate with `guards.keys.authenticate_header(base.api_key_header(headers))`
   (`Authorization: Bearer` or `x-api-key`).
3. Parse and validate in the protocol's own terms (a 400 naming the field), then translate into
   the engine's one internal request, a `routing.schemas.ChatRequest` (the OpenAI chat shape
   every back door already translates from). A door whose protocol a back door speaks natively
   attaches the original body: `request.with_native(Native(protocol, body, headers))`; that
   adapter sends it as it came (lossless), every other adapter ignores it.
4. `ctx = base.new_context(door_name, ...)` (the usage record's `protocol` is the door's name),
   then `gateway.complete(request, snapshot, ctx, key) -> Completion` or
   `gateway.open_stream(...) -> StreamSession`. The answer is in OpenAI's shape
   (`completion.body`, `chunk.data`); when passed through natively the upstream's own body is in
   `completion.native` and each upstream event in `chunk.extra["native"]` = (event, raw data).
5. Encode the answer, the stream events (a failure after the first byte ends the stream with
   the protocol's error event) and the headers (`base.gateway_headers(ctx)`) in the door's terms.

Doors: `openai_chat` (/v1/chat/completions, /v1/models) and `anthropic_messages`
(/v1/messages, /v1/messages/count_tokens, /v1/models with `anthropic-version`). The other
OpenAI endpoints are doors too, registered in one path table (`openai_paths`, one entry of
table.py): `openai_embeddings` (/v1/embeddings, through `engine.oneshot`: only embedding models),
`openai_files` and `openai_batches` (the Files and Batches APIs, stored by `batch/api.py`).
"""
