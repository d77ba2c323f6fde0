"""The subscription flow: an audience (from the menu, a typed command or a poster's
link), optionally a commune; the chat id is stored encrypted only here."""

from __future__ import annotations

from core.chat.catalogue import as_language, text
from core.chat.events import Button, Outcome
from core.chat.flows.base import FlowBase
from core.chat.ports import AUDIENCES, ChatRef
from core.chat.state import ChatState


class SubscribeFlow(FlowBase):
    async def _news(self, chat: ChatRef, state: ChatState, out: Outcome) -> None:
        lang = state.lang
        current = await self.directory.subscription(chat.key)
        if current is not None:
            out.say(
                text(
                    "news.current",
                    lang,
                    audience=text(f"audience.{current.audience}", lang),
                    language=text(f"language.{current.language}", lang),
                ),
                buttons=((Button(text("btn.unsubscribe", lang), "sub:off"),),),
            )
            return
        out.say(
            text("news.choose", lang),
            buttons=tuple((Button(text(f"audience.{a}", lang), f"sub:{a}"),) for a in AUDIENCES),
        )

    async def _deep_subscribe(self, chat: ChatRef, state: ChatState, arg: str, out: Outcome) -> None:
        """`sub-<audience>-<lang>[-<commune code>]` from a poster's QR code: subscribed in
        one step (a poster for one commune carries its code)."""
        rest = arg.removeprefix("sub-")
        commune = ""
        head, _, last = rest.rpartition("-")
        if last.isdigit() and len(last) == 5:
            rest, commune = head, last
        audience, _, lang_code = rest.rpartition("-")
        lang = as_language(lang_code)
        if audience not in AUDIENCES or lang is None:
            out.say(text("news.bad_link", state.lang), keyboard=self._keyboard(state.lang))
            return
        state.lang = lang
        await self._subscribe(chat, state, audience, lang, out)
        if commune and self.areas is not None:
            await self.areas.set_area(chat.key, commune)

    def _typed_area(self, state: ChatState, typed: str, out: Outcome) -> None:
        lang = state.lang
        skip = (Button(text("btn.skip", lang), "area:skip"),)
        found = self.places.candidates(typed)
        if not found:
            out.say(text("news.area_unknown", lang), buttons=(skip,))
            return
        state.data["offered"] = {p.code: p.name for p in found}
        rows = tuple((Button(p.name, f"area:{p.code}"),) for p in found)
        out.say(text("news.area_pick", lang), buttons=(*rows, skip))

    async def _picked_area(self, chat: ChatRef, state: ChatState, value: str, out: Outcome) -> bool:
        offered: dict[str, str] = state.data.get("offered", {})
        lang = state.lang
        if value == "skip":
            out.say(text("news.area_skipped", lang), keyboard=self._keyboard(lang))
        elif value in offered and self.areas is not None:
            await self.areas.set_area(chat.key, value)
            out.say(text("news.area_set", lang, place=offered[value]), keyboard=self._keyboard(lang))
        else:
            return False
        state.reset()
        return True

    async def _subscribe(
        self, chat: ChatRef, state: ChatState, audience: str, lang: str, out: Outcome
    ) -> None:
        await self.directory.subscribe(chat, audience, lang)
        out.say(
            text(
                "news.subscribed",
                state.lang,
                audience=text(f"audience.{audience}", state.lang),
                language=text(f"language.{lang}", state.lang),
            ),
            keyboard=self._keyboard(state.lang),
        )
