"""uvicorn's httptools protocol with a cap on the request head (request line + headers).

uvicorn caps the head only for its pure-Python h11 parser (``h11_max_incomplete_event_size``);
with httptools (its C parser, picked when installed, several times cheaper per request) a client
could send headers without end and the server would buffer them. This protocol counts the bytes
received while a request's head is incomplete and answers 431 and closes the connection once they
exceed :data:`MAX_HEAD_BYTES` (at most one network read beyond the cap is buffered)."""
from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from robomem.service.guard import MAX_HEAD_BYTES

_431 = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        b"connection: close\r\ncontent-length: %d\r\n\r\n%s")


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that refuses request heads over :data:`MAX_HEAD_BYTES`."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            return super().data_received(data)
        self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
            body = (b'{"error":"header_too_large","message":"request line and headers exceed %d bytes"}'
                    % self.max_head_bytes)
            self.transport.write(_431 % (len(body), body))
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()
