"""Builders for test data: one place that knows how to make a valid tip."""

from __future__ import annotations

from dataclasses import replace

from core.attachments import AttachmentPolicy
from core.categories import Category, Channel
from core.services import Receipt, TipService, TransitionRequest
from core.stages import Stage
from core.tips import TipDraft


def draft(text: str = "Quán karaoke trên đường Lê Lợi có bán dâm", **kw: object) -> TipDraft:
    fields: dict[str, object] = {"text": text, "channel": Channel.WEB}
    fields.update(kw)
    return TipDraft(**fields)  # type: ignore[arg-type]


#: Upload limits as shipped (the numbers are written out: tests pass explicit limits).
ATTACHMENTS = AttachmentPolicy(
    max_files=5,
    max_file_bytes=10 * 1024 * 1024,
    max_request_bytes=25 * 1024 * 1024,
    max_pixels=40_000_000,
    max_pdf_pages=100,
    max_decoded_bytes=160 * 1024 * 1024,
    decode_budget_bytes=384 * 1024 * 1024,
)


def attachments(**limits: int) -> AttachmentPolicy:
    """The shipped upload limits with some of them changed."""
    return replace(ATTACHMENTS, **limits)


async def submit(tips: TipService, **kw: object) -> Receipt:
    return await tips.submit(draft(**kw))


def move(target: Stage, reason: str = "", **kw: object) -> TransitionRequest:
    if not reason and target in {Stage.REFERRED, Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED}:
        reason = f"test: {target.value}"
    return TransitionRequest(target=target, actor="officer:test", reason=reason, **kw)  # type: ignore[arg-type]


__all__ = ["ATTACHMENTS", "Category", "attachments", "draft", "move", "submit"]
