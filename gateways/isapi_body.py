"""The body of an ISAPI event notification, read as it arrives: the one part that holds the
``EventNotificationAlert`` (XML or JSON) is kept, every picture is counted and dropped.

A camera posts either the alert alone (``application/xml``, ``application/json``) or a
``multipart/form-data`` (``multipart/mixed`` on some firmware) body: the alert part, then up to
a few JPEGs (visible light, thermal) that can weigh megabytes. Firewatch stores no pictures,
and an alarm must never be lost because its picture is big, so the pictures are never held:
memory stays bounded by the alert's own limit, whatever the body's size.

Lenient where cameras are seen to differ: a blank line between a delimiter and its part's
headers, headers without a ``Content-Type`` (the part is then sniffed), bare LF line ends, a
body that ends without its closing delimiter. Strict where it matters: the alert's size, the
headers' size, a multipart type without a boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from contract.messages import Reason

ALERT_MAX_BYTES = 64 * 1024  # the largest real alert seen is ~6 KiB (five fire regions)
HEADERS_MAX_BYTES = 8 * 1024
# A whole notification, pictures included, as the API's request guard lets it in.
BODY_MAX_BYTES = 16 * 1024 * 1024

_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;,]{1,200}))', re.IGNORECASE)
_HEADER_LINE = re.compile(rb"^[A-Za-z0-9-]{1,64}[ \t]*:")


class Refused(Exception):
    """The body cannot be a notification; ``reason`` is the dead letter's."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Syntax(StrEnum):
    XML = "xml"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Body:
    alert: bytes
    syntax: Syntax
    pictures: int = 0  # parts dropped unread: pictures, temperature matrices, anything else
    dropped_bytes: int = 0


def syntax_of(content_type: str) -> Syntax | None:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return Syntax.XML
    if media == "application/json" or media.endswith("+json"):
        return Syntax.JSON
    return None


def sniff(data: bytes) -> Syntax | None:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return Syntax.XML if head == b"<" else Syntax.JSON if head == b"{" else None


def boundary_of(content_type: str) -> bytes | None:
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    try:
        return (found.group(1) or found.group(2)).encode("ascii")
    except UnicodeEncodeError:
        return None


class _Plain:
    def __init__(self, syntax: Syntax | None) -> None:
        self._syntax = syntax
        self._data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > ALERT_MAX_BYTES:
            raise Refused(Reason.OVERSIZE, f"the notification is over {ALERT_MAX_BYTES} bytes")

    def finish(self) -> Body:
        data = bytes(self._data)
        syntax = self._syntax or sniff(data)
        if syntax is None:
            raise Refused(Reason.MALFORMED, "the body is neither XML nor JSON")
        return Body(data, syntax)


class _Multipart:
    """A small state machine over the bytes as they come: preamble, headers, part body."""

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"--" + boundary
        self._buf = bytearray()
        self._state = "preamble"
        self._part: Syntax | str | None = None  # the syntax of an alert part, "drop", "sniff"
        self._alert: bytearray | None = None
        self._syntax: Syntax | None = None
        self._pictures = 0
        self._dropped = 0

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        while self._step():
            pass

    def _step(self) -> bool:  # noqa: PLR0911 - one return per state and outcome
        buf = self._buf
        if self._state == "preamble":
            at = buf.find(self._delimiter)
            if at < 0:
                del buf[: max(0, len(buf) - len(self._delimiter))]
                return False
            del buf[: at + len(self._delimiter)]
            self._state = "after-delimiter"
            return True
        if self._state == "after-delimiter":
            if len(buf) < 2:
                return False
            if buf[:2] == b"--":
                self._state = "end"
                buf.clear()
                return False
            line_end = buf.find(b"\n")
            if line_end < 0:
                if len(buf) > HEADERS_MAX_BYTES:
                    raise Refused(Reason.MALFORMED, "a delimiter line that never ends")
                return False
            del buf[: line_end + 1]
            self._state = "headers"
            return True
        if self._state == "headers":
            return self._headers()
        if self._state == "body":
            return self._body()
        buf.clear()  # the epilogue, after the closing delimiter
        return False

    def _headers(self) -> bool:
        buf = self._buf
        while buf[:2] == b"\r\n" or buf[:1] == b"\n":  # blank lines before the headers
            del buf[: 2 if buf[:1] == b"\r" else 1]
        if len(buf) < 66 and b"\n" not in buf:
            return False
        if not _HEADER_LINE.match(bytes(buf[:66])):  # no headers at all: the body follows
            self._start_part(None)
            return True
        end = _blank_line(buf)
        if end is None:
            if len(buf) > HEADERS_MAX_BYTES:
                raise Refused(Reason.MALFORMED, f"part headers over {HEADERS_MAX_BYTES} bytes")
            return False
        if end > HEADERS_MAX_BYTES:
            raise Refused(Reason.MALFORMED, f"part headers over {HEADERS_MAX_BYTES} bytes")
        headers = bytes(buf[:end]).decode("latin-1")
        del buf[: end + (4 if buf[end : end + 4] == b"\r\n\r\n" else 2)]
        content_type = next(
            (
                line.split(":", 1)[1].strip()
                for line in headers.splitlines()
                if line.lower().startswith("content-type")
            ),
            None,
        )
        self._start_part(content_type)
        return True

    def _start_part(self, content_type: str | None) -> None:
        self._state = "body"
        if self._alert is not None:  # one alert a notification: anything after it is dropped
            self._part = "drop"
        elif content_type is None:
            self._part = "sniff"
        else:
            syntax = syntax_of(content_type)
            self._part = syntax if syntax is not None else "drop"
        if self._part != "drop":
            self._alert = bytearray()
            self._syntax = self._part if isinstance(self._part, Syntax) else None
        else:
            self._pictures += 1

    def _body(self) -> bool:
        buf = self._buf
        at = buf.find(self._delimiter)
        keep_from = at if at >= 0 else max(0, len(buf) - len(self._delimiter) - 2)
        end = at
        if at >= 0:  # the CRLF before a delimiter belongs to it
            end = at - 2 if buf[max(0, at - 2) : at] == b"\r\n" else at
            end = at - 1 if end == at and buf[max(0, at - 1) : at] == b"\n" else end
        self._take(buf, end if at >= 0 else keep_from)
        del buf[:keep_from]
        if at < 0:
            return False
        del buf[: len(self._delimiter)]
        self._state = "after-delimiter"
        return True

    def _take(self, buf: bytearray, end: int) -> None:
        """The part's bytes ``buf[:end]``: a dropped part's only counted, never copied."""
        if self._part == "drop":
            self._dropped += end
            return
        assert self._alert is not None
        if len(self._alert) + end > ALERT_MAX_BYTES:
            raise Refused(Reason.OVERSIZE, f"the alert part is over {ALERT_MAX_BYTES} bytes")
        self._alert += buf[:end]

    def finish(self) -> Body:
        if self._state == "body":  # no closing delimiter: what came is the part
            self._take(self._buf, len(self._buf))
            self._buf.clear()
        if self._alert is None:
            raise Refused(Reason.MALFORMED, "no EventNotificationAlert part in the multipart body")
        alert = bytes(self._alert)
        syntax = self._syntax or sniff(alert)
        if syntax is None:
            raise Refused(Reason.MALFORMED, "the alert part is neither XML nor JSON")
        return Body(alert, syntax, pictures=self._pictures, dropped_bytes=self._dropped)


def _blank_line(buf: bytearray) -> int | None:
    """Where the headers end (the first empty line), CRLF or bare LF."""
    crlf, lf = buf.find(b"\r\n\r\n"), buf.find(b"\n\n")
    found = [i for i in (crlf, lf) if i >= 0]
    return min(found) if found else None


class BodyReader:
    """Feed the body's chunks as they arrive, then :meth:`finish`; either raises
    :class:`Refused`. Holds at most the alert and one chunk, never a picture."""

    def __init__(self, content_type: str | None) -> None:
        content_type = content_type or ""
        media = content_type.split(";", 1)[0].strip().lower()
        self._reader: _Plain | _Multipart
        if media.startswith("multipart/"):
            boundary = boundary_of(content_type)
            if boundary is None:
                raise Refused(Reason.MALFORMED, f"{media} without a boundary")
            self._reader = _Multipart(boundary)
        else:
            self._reader = _Plain(syntax_of(content_type))

    def feed(self, chunk: bytes) -> None:
        self._reader.feed(chunk)

    def finish(self) -> Body:
        return self._reader.finish()


def read_body(content_type: str | None, body: bytes) -> Body:
    reader = BodyReader(content_type)
    reader.feed(body)
    return reader.finish()
