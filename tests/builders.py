"""Builders for test data: one place that knows how to make a valid tip."""

from __future__ import annotations

from core.categories import Category, Channel
from core.services import Receipt, TipService, TransitionRequest
from core.stages import Stage
from core.tips import TipDraft


def draft(text: str = "Quán karaoke trên đường Lê Lợi có bán dâm", **kw: object) -> TipDraft:
    fields: dict[str, object] = {"text": text, "channel": Channel.WEB}
    fields.update(kw)
    return TipDraft(**fields)  # type: ignore[arg-type]


async def submit(tips: TipService, **kw: object) -> Receipt:
    return await tips.submit(draft(**kw))


def move(target: Stage, reason: str = "", **kw: object) -> TransitionRequest:
    if not reason and target in {Stage.REFERRED, Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED}:
        reason = f"test: {target.value}"
    return TransitionRequest(target=target, actor="officer:test", reason=reason, **kw)  # type: ignore[arg-type]


__all__ = ["Category", "draft", "move", "submit"]
