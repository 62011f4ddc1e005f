"""Front doors: one module per inbound protocol, and the raw ASGI entry that serves them.

A door parses and validates its protocol, hands the engine one internal request, and encodes
the answer, the stream events and the errors back in its own terms.
"""
