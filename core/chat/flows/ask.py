"""The question flow: the knowledge base's best answer with "did this help?", or the
question filed for a counsellor with a receipt."""

from __future__ import annotations

from core.chat.catalogue import text
from core.chat.events import Button, Outcome
from core.chat.flows.base import FlowBase
from core.chat.ports import ChatRef
from core.chat.state import ChatState
from core.errors import NotFound


class AskFlow(FlowBase):
    def _start_ask(self, state: ChatState, out: Outcome) -> None:
        state.start("ask", "text")
        out.say(text("ask.prompt", state.lang))

    async def _question(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        """The knowledge base's best answer first, with "did this help?"; no good match
        goes straight to a counsellor."""
        lang = state.lang
        matches = await self.answers.answer_if_allowed(typed, hint=lang, limit=1) if self.answers else []
        if not matches:
            if self.answers is not None:
                out.say(text("ask.no_answer", lang))
            await self._submit_question(chat, state, typed, out)
            return
        best = matches[0]
        state.start("ask", "offered", text=typed, entry=best.entry.id, answer_lang=best.language)
        out.say(text("ask.answer", lang, answer=best.answer))
        out.say(
            text("ask.helped", lang),
            buttons=(
                (
                    Button(text("btn.helped_yes", lang), "kb:yes"),
                    Button(text("btn.helped_no", lang), "kb:no"),
                ),
            ),
        )

    async def _helped(self, chat: ChatRef, state: ChatState, helped: bool, out: Outcome) -> None:
        """Count the answer (entry and language only), then thank or hand over."""
        if self.answers is not None:
            entry, lang = str(state.data.get("entry", "")), str(state.data.get("answer_lang", ""))
            try:
                await self.answers.feedback(entry, lang, helped)
            except NotFound:
                pass  # the base changed since the answer was shown; nothing to count
        if helped:
            state.reset()
            out.say(text("ask.glad", state.lang), keyboard=self._keyboard(state.lang))
        else:
            await self._submit_question(chat, state, str(state.data.get("text", "")), out)

    async def _submit_question(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        del chat
        receipt = await self._saved(state, out, lambda: self.reporter.ask(typed, self.channel))
        if receipt is not None:
            self._receipt(state, receipt, "ask.receipt", out)
