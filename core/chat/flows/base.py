"""What every flow shares: the ports it talks to (set by `ChatEngine`), the receipt shown
after something is saved, domain refusals turned into replies, and the menu keyboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from core import receipts
from core.attachments import AttachmentPolicy
from core.categories import Channel
from core.chat.catalogue import text
from core.chat.events import Button, KeyboardKey, Outcome
from core.chat.ports import ChatDirectory, PlaceFinder, Reporter, SubscriberAreas
from core.chat.state import ChatState, ChatStateStore
from core.errors import InvalidInput
from core.intake import Receipt
from core.knowledge import AnswerService
from core.ratelimits import RateLimited

MENU: tuple[tuple[str, ...], ...] = (
    ("menu.report", "menu.ask"),
    ("menu.check", "menu.news"),
    ("menu.support",),
    ("menu.emergency",),
)


class FlowBase:
    """The engine's dependencies, as every flow module sees them."""

    reporter: Reporter
    answers: AnswerService | None
    areas: SubscriberAreas | None
    directory: ChatDirectory
    places: PlaceFinder
    store: ChatStateStore
    clock: Callable[[], datetime]
    channel: Channel
    policy: AttachmentPolicy

    def _receipt(self, state: ChatState, receipt: Receipt, key: str, out: Outcome) -> None:
        lang = state.lang
        out.say(text(key, lang, code=receipts.display(receipt.receipt_code), passphrase=receipt.passphrase))
        state.start("notify", "ask", tip_id=receipt.tip_id)
        out.say(
            text("notify.ask", lang),
            buttons=(
                (
                    Button(text("btn.notify_yes", lang), "notify:yes"),
                    Button(text("btn.notify_no", lang), "notify:no"),
                ),
            ),
        )

    async def _saved(
        self, state: ChatState, out: Outcome, submit: Callable[[], Awaitable[Receipt]]
    ) -> Receipt | None:
        """Domain refusals become a reply and leave the step as it was, ready to retry."""
        try:
            return await submit()
        except RateLimited as exc:
            out.say(text("error.wait", state.lang, seconds=exc.retry_after))
        except InvalidInput:
            out.say(text("error.not_saved", state.lang))
        return None

    @staticmethod
    def _keyboard(lang: str) -> tuple[tuple[KeyboardKey, ...], ...]:
        return tuple(tuple(KeyboardKey(text(key, lang)) for key in row) for row in MENU)
