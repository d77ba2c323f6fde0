"""Reading multipart bodies within limits: files are counted and measured while they stream,
so 50 files or a 1 GB upload are refused before they are read to the end."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from core.attachments import AttachmentPolicy, AttachmentRefused

FILES = "files"
_CHUNK = 64 * 1024
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


@dataclass
class Submitted:
    """Text fields (decoded, strict UTF-8) and raw file bytes, in the order sent."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[bytes] = field(default_factory=list)


def is_multipart(request: web.Request) -> bool:
    return request.content_type == "multipart/form-data"


async def read_multipart(request: web.Request, policy: AttachmentPolicy, max_field_bytes: int) -> Submitted:
    """400 for a malformed or truncated body or bad UTF-8; 413/422 past the file limits."""
    result = Submitted()
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise web.HTTPBadRequest(text="nested multipart bodies are not accepted")
            name = part.name or ""
            if not _NAME.match(name):
                raise web.HTTPBadRequest(text="a form field has no name or a malformed one")
            if name == FILES or part.filename is not None:
                data = await _read_limited(part, policy.max_file_bytes)
                if data is None:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=policy.max_file_bytes,
                        actual_size=policy.max_file_bytes + 1,
                        text=f"each file must be at most {policy.max_file_bytes // (1024 * 1024)} MB",
                    )
                if not data and not part.filename:
                    continue  # an empty file input of a browser form
                if len(result.files) >= policy.max_files:
                    raise AttachmentRefused(f"at most {policy.max_files} files can be attached", "too_many")
                total += len(data)
                if total > policy.max_request_bytes:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=policy.max_request_bytes,
                        actual_size=total,
                        text="the files together are too large",
                    )
                result.files.append(data)
                continue
            raw = await _read_limited(part, max_field_bytes)
            if raw is None:
                raise web.HTTPRequestEntityTooLarge(
                    max_size=max_field_bytes,
                    actual_size=max_field_bytes + 1,
                    text=f"field {name} is too long",
                )
            if name in result.fields:
                raise web.HTTPBadRequest(text=f"field {name} is sent twice")
            result.fields[name] = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text="a field is not valid UTF-8") from None
    except (HttpProcessingError, ValueError, AssertionError, EOFError, RuntimeError, KeyError):
        raise web.HTTPBadRequest(text="the multipart body is malformed or incomplete") from None
    return result


async def _read_limited(part: BodyPartReader, limit: int) -> bytes | None:
    """The part's bytes, or None as soon as it passes `limit` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
