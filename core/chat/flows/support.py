"""The support flow: "I need help for myself". The person picks kinds of help from the
reviewed list (buttons, or numbered choices on text-only channels), may name their commune
(typed in any spelling, matched like a report's place; skippable) so the case goes to the
workers there, may type a way to be reached (sealed by the support service, never kept in
the chat's state), and gets a receipt code and passphrase to read answers on the web."""

from __future__ import annotations

from typing import Any, Protocol

from core import receipts
from core.chat.catalogue import text
from core.chat.events import Button, Outcome
from core.chat.flows.base import FlowBase
from core.chat.ports import ChatRef
from core.chat.state import ChatState
from core.errors import InvalidInput
from core.ratelimits import RateLimited


class SupportAsker(Protocol):
    """The support service as the chat sees it (core.support_service.SupportService)."""

    content: Any

    async def ask(
        self, *, kinds: list[str], commune: str | None, contact: str | None, message: str
    ) -> Any: ...


class SupportFlow(FlowBase):
    support: SupportAsker | None

    def _start_support(self, state: ChatState, out: Outcome) -> None:
        if self.support is None:
            out.say(text("support.unavailable", state.lang), keyboard=self._keyboard(state.lang))
            return
        state.start("support", "kinds", kinds=[])
        out.say(text("support.intro", state.lang))
        self._kind_buttons(state, out)

    def _kind_buttons(self, state: ChatState, out: Outcome) -> None:
        assert self.support is not None
        lang = state.lang
        chosen = set(state.data.get("kinds", []))
        rows = tuple(
            (Button(("✓ " if k.code in chosen else "") + (k.vi if lang == "vi" else k.en), f"need:{k.code}"),)
            for k in self.support.content.kinds
        )
        out.say(
            text("support.kinds", lang),
            buttons=(*rows, (Button(text("btn.support_done", lang), "need:done"),)),
        )

    async def _b_need(self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: Any) -> bool:
        del chat
        assert self.support is not None
        if value == "done":
            if not state.data.get("kinds"):
                out.say(text("support.choose_one", state.lang))
                self._kind_buttons(state, out)
                return True
            state.start("support", "commune", kinds=list(state.data["kinds"]))
            out.say(
                text("support.commune", state.lang),
                buttons=((Button(text("btn.support_skip", state.lang), "sarea:skip"),),),
            )
            return True
        if value not in self.support.content.kind_codes():
            return False
        kinds = list(state.data.get("kinds", []))
        if value not in kinds:
            kinds.append(value)
        state.data["kinds"] = kinds
        self._kind_buttons(state, out)
        return True

    async def _t_support_commune(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        """A typed commune name: the matching communes as choices, or ask again."""
        del chat
        lang = state.lang
        skip = (Button(text("btn.support_skip", lang), "sarea:skip"),)
        found = self.places.candidates(typed[:200])
        if not found:
            out.say(text("support.commune_unknown", lang), buttons=(skip,))
            return
        state.data["offered"] = {p.code: p.name for p in found}
        rows = tuple((Button(p.name, f"sarea:{p.code}"),) for p in found)
        out.say(text("support.commune_pick", lang), buttons=(*rows, skip))

    async def _b_support_commune(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: Any
    ) -> bool:
        del chat
        offered: dict[str, str] = state.data.get("offered", {})
        if value != "skip" and value not in offered:
            return False
        commune = None if value == "skip" else value
        state.start("support", "contact", kinds=list(state.data.get("kinds", [])), commune=commune)
        out.say(
            text("support.contact", state.lang),
            buttons=((Button(text("btn.support_skip", state.lang), "nocontact:skip"),),),
        )
        return True

    async def _t_contact(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        del chat
        await self._submit_support(state, typed, out)

    async def _b_nocontact(self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: Any) -> bool:
        del chat
        if value != "skip":
            return False
        await self._submit_support(state, None, out)
        return True

    async def _submit_support(self, state: ChatState, contact: str | None, out: Outcome) -> None:
        assert self.support is not None
        lang = state.lang
        try:
            receipt = await self.support.ask(
                kinds=list(state.data.get("kinds", [])),
                commune=state.data.get("commune") or None,
                contact=contact,
                message="",
            )
        except RateLimited as exc:
            out.say(text("error.wait", lang, seconds=exc.retry_after))
            return
        except InvalidInput:
            out.say(text("support.contact_bad", lang))
            return
        state.reset()
        out.say(
            text("support.receipt", lang, code=receipts.display(receipt.code), passphrase=receipt.passphrase),
            keyboard=self._keyboard(lang),
        )
