"""Builders for test data: one place that knows how to make a valid tip."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.attachments import AttachmentPolicy
from core.categories import Category, Channel
from core.intake import Receipt, TipIntake
from core.services import TransitionRequest
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


async def submit(intake: TipIntake, **kw: object) -> Receipt:
    return await intake.submit(draft(**kw))


def move(target: Stage, reason: str = "", **kw: object) -> TransitionRequest:
    if not reason and target in {Stage.REFERRED, Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED}:
        reason = f"test: {target.value}"
    return TransitionRequest(target=target, actor="officer:test", reason=reason, **kw)  # type: ignore[arg-type]


__all__ = ["ATTACHMENTS", "Category", "attachments", "draft", "move", "submit"]


async def stored_tips(url: str, keys: Any = None) -> list[Any]:
    """Every tip of the database at `url`, opened with the master key the environment names
    (tip texts are stored encrypted: only the repository reads them)."""
    import sqlalchemy as sa

    from hotline.masterkey import MasterKeySource
    from hotline.settings import load_settings
    from storage.db import create_engine, session_factory
    from storage.models import TipRow
    from storage.repositories import SqlUnitOfWork

    engine = create_engine(url)
    try:
        async with SqlUnitOfWork(session_factory(engine), keys or MasterKeySource(load_settings())) as uow:
            ids = list(await uow.session.scalars(sa.select(TipRow.id).order_by(TipRow.id)))
            return [await uow.tips.get(i) for i in ids]
    finally:
        await engine.dispose()


def opened_files(settings: Any) -> list[bytes]:
    """The stored attachment files, decrypted (they are encrypted on disk)."""
    from hotline.masterkey import load_envelope
    from storage.files import open_file

    envelope = load_envelope(settings)
    root = settings.attachments_path
    paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return [open_file(envelope, p.name, p.read_bytes()) for p in paths]
