"""The status flow: receipt code → passphrase (its message deleted where the channel
allows) → the stage and the conversation, then a short window to add a message."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core import receipts
from core.chat.catalogue import text
from core.chat.events import Button, Outcome
from core.chat.flows.base import FlowBase
from core.chat.state import ChatState
from core.errors import InvalidInput, NotFound
from core.ratelimits import RateLimited
from core.reporters import ReporterView

LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
#: How long a checked receipt stays open for "add a message" before we ask again.
CHECK_WINDOW = timedelta(minutes=10)


class StatusFlow(FlowBase):
    def _receipt_code(self, state: ChatState, typed: str, out: Outcome) -> None:
        code = receipts.normalise(typed)
        if code is None:
            out.say(text("check.bad_code", state.lang))
            return
        state.start("check", "pass", code=code)
        out.say(text("check.pass", state.lang))

    async def _check(self, state: ChatState, code: str, passphrase: str, out: Outcome) -> None:
        lang = state.lang
        try:
            view = await self.reporter.status(code, passphrase)
        except NotFound:
            state.start("check", "code")
            out.say(text("check.not_found", lang))
            return
        except RateLimited as exc:
            state.reset()
            out.say(text("error.wait", lang, seconds=exc.retry_after), keyboard=self._keyboard(lang))
            return
        until = self.clock() + CHECK_WINDOW
        # Kept only for the add-a-message window, then dropped: see CHECK_WINDOW.
        state.start("check", "open", code=code, passphrase=passphrase, until=until.isoformat())
        out.say(
            self._status_text(code, view, lang),
            buttons=(
                ((Button(text("btn.done", lang), "check:done"),),)
                if view.forgotten
                else (
                    (
                        Button(text("btn.add_message", lang), "check:add"),
                        Button(text("btn.done", lang), "check:done"),
                    ),
                )
            ),
        )

    def _status_text(self, code: str, view: ReporterView, lang: str) -> str:
        stage = text(f"stage.{view.stage}", lang) if f"stage.{view.stage}" in _STAGE_KEYS else view.stage
        lines = [
            text(
                "check.status",
                lang,
                code=receipts.display(code),
                date=_local_date(view.received_at),
                stage=stage,
            )
        ]
        if view.forgotten:
            return "\n\n".join([*lines, text("check.forgotten", lang)])
        for message in view.messages:
            key = "check.officer" if message.author.value == "officer" else "check.you"
            lines.append(text(key, lang, date=_local_date(message.at), text=message.text))
        if not any(m.author.value == "officer" for m in view.messages):
            lines.append(text("check.no_replies", lang))
        return "\n\n".join(lines)

    def _check_still_open(self, state: ChatState) -> bool:
        until = state.data.get("until")
        return bool(until) and datetime.fromisoformat(str(until)) > self.clock()

    async def _add_message(self, state: ChatState, typed: str, out: Outcome) -> None:
        lang = state.lang
        if not self._check_still_open(state):
            state.start("check", "code")
            out.say(text("check.expired", lang))
            out.say(text("check.code", lang))
            return
        try:
            await self.reporter.add_message(
                str(state.data["code"]), str(state.data["passphrase"]), typed, channel=self.channel
            )
        except (NotFound, InvalidInput):
            out.say(text("error.not_saved", lang))
            return
        except RateLimited as exc:
            out.say(text("error.wait", lang, seconds=exc.retry_after))
            return
        state.reset()
        out.say(text("check.added", lang), keyboard=self._keyboard(lang))


_STAGE_KEYS = frozenset(
    f"stage.{s}" for s in ("received", "verified", "classified", "processed", "referred", "closed")
)


def _local_date(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%d/%m/%Y")
