"""The conversation rules: one incoming event in, the replies out, the state saved.

Each flow (report, ask, status, subscribe) is its own module under `core/chat/flows/`;
this engine routes an event to the step that waits for it, through two tables: typed text
by `(flow, step)`, and a button's data by its prefix and the `(flow, step)` that showed it.
`/cancel`, `/start`, the typed commands and the menu work from anywhere. A tip is committed
by `Reporter.report` before the receipt is shown; nothing else in a flow is stored anywhere
but the chat's own state, which expires after a day of silence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from core.attachments import AttachmentPolicy
from core.categories import Channel
from core.chat import choices, commands
from core.chat.catalogue import as_language, language_from_hint, text
from core.chat.events import Button, Incoming, Kind, Outcome
from core.chat.flows.ask import AskFlow
from core.chat.flows.base import MENU
from core.chat.flows.report import ReportFlow
from core.chat.flows.status import CHECK_WINDOW, StatusFlow
from core.chat.flows.subscribe import SubscribeFlow
from core.chat.flows.support import SupportAsker, SupportFlow
from core.chat.ports import (
    AUDIENCES,
    ChatDirectory,
    ChatRef,
    FileSource,
    PlaceFinder,
    Reporter,
    SubscriberAreas,
)
from core.chat.state import ChatState, ChatStateStore
from core.knowledge import AnswerService
from core.text import fold

__all__ = ["CHECK_WINDOW", "ChatEngine"]

Step = tuple[str, str]
TextStep = Callable[[ChatRef, ChatState, str, Outcome], Awaitable[None]]
ButtonStep = Callable[[ChatRef, ChatState, str, Outcome, FileSource | None], Awaitable[bool]]
#: Where the choices last shown are kept in the chat's state, to read a typed answer.
_CHOICES = "_choices"
#: Report steps that wait for a choice: a stray text there repeats the step.
_CHOICE_STEPS = frozenset({"files", "danger", "confirm", "location"})


class ChatEngine(ReportFlow, AskFlow, StatusFlow, SubscribeFlow, SupportFlow):
    """Channel-neutral conversation over the reporter use cases and the chat directory."""

    def __init__(
        self,
        *,
        reporter: Reporter,
        directory: ChatDirectory,
        places: PlaceFinder,
        store: ChatStateStore,
        clock: Callable[[], datetime],
        channel: Channel = Channel.TELEGRAM,
        attachment_policy: AttachmentPolicy,
        answers: AnswerService | None = None,
        areas: SubscriberAreas | None = None,
        text_only: bool = False,
        support: SupportAsker | None = None,
    ) -> None:
        self.reporter = reporter
        #: A channel without buttons: every choice is sent as a numbered list instead.
        self.text_only = text_only
        #: The knowledge base; without it every question goes to a counsellor.
        self.answers = answers
        #: Anonymous requests for help for oneself; without it the menu says where to ask.
        self.support = support
        #: Where subscribers' optional commune is kept; without it the step is not offered.
        self.areas = areas
        self.directory = directory
        self.places = places
        self.store = store
        self.clock = clock
        self.channel = channel
        self.policy = attachment_policy
        self._menu_actions = {
            fold(text(key, lang)): key for row in MENU for key in row for lang in ("vi", "en")
        }
        #: Typed text, by the step that waits for it.
        self._text_steps: dict[Step, TextStep] = {
            ("report", "what"): self._t_what,
            ("report", "where"): self._t_where,
            ("ask", "text"): self._question,
            ("ask", "offered"): self._question,
            ("news", "area"): self._t_area,
            ("check", "code"): self._t_code,
            ("check", "pass"): self._t_pass,
            ("check", "add"): self._t_add,
            ("support", "commune"): self._t_support_commune,
            ("support", "contact"): self._t_contact,
        }
        #: A button's data prefix → (the step that showed it, or None for anywhere; handler).
        self._button_steps: dict[str, tuple[Step | None, ButtonStep]] = {
            "lang": (None, self._b_lang),
            "sub": (None, self._b_sub),
            "intent": (("intent", "choose"), self._b_intent),
            "kb": (("ask", "offered"), self._b_helped),
            "area": (("news", "area"), self._b_area),
            "place": (("report", "where"), self._b_place),
            "loc": (("report", "location"), self._b_location),
            "files": (("report", "files"), self._b_files),
            "danger": (("report", "danger"), self._b_danger),
            "confirm": (("report", "confirm"), self._b_confirm),
            "notify": (("notify", "ask"), self._b_notify),
            "check": (("check", "open"), self._b_check),
            "need": (("support", "kinds"), self._b_need),
            "sarea": (("support", "commune"), self._b_support_commune),
            "nocontact": (("support", "contact"), self._b_nocontact),
        }

    # --- entry points -----------------------------------------------------------------

    async def handle(self, chat: ChatRef, event: Incoming, files: FileSource | None = None) -> Outcome:
        """Answer one event of a private chat; the state is saved only if no error escaped,
        so a failed step can be retried from where it was."""
        raw = await self.store.load(chat.key)
        state = ChatState.from_dict(raw) if raw else ChatState(lang=language_from_hint(event.language_hint))
        shown = [(str(c[0]), str(c[1]), str(c[2])) for c in state.data.pop(_CHOICES, None) or ()]
        if event.kind is Kind.TEXT and (picked := choices.match(event.text, shown, event.language_hint)):
            event = picked
        out = Outcome()
        forget = await self._dispatch(chat, state, event, out, files)
        offered = choices.offered(out)
        if offered:
            state.data[_CHOICES] = [list(c) for c in offered]
        if self.text_only:
            out.replies = [choices.numbered(r) for r in out.replies]
        if forget:
            await self.store.delete(chat.key)
        else:
            await self.store.save(chat.key, state.to_dict())
        return out

    async def left(self, chat_key: str) -> None:
        """The person blocked the bot or deleted the chat: no more messages to them."""
        await self.directory.unsubscribe(chat_key)
        await self.store.delete(chat_key)

    @staticmethod
    def not_private(lang: str | None) -> Outcome:
        """Groups and channels: one pointer to a private chat, and nothing remembered."""
        out = Outcome()
        out.say(text("group.private", language_from_hint(lang)))
        return out

    # --- dispatch ---------------------------------------------------------------------

    async def _dispatch(
        self, chat: ChatRef, state: ChatState, event: Incoming, out: Outcome, files: FileSource | None
    ) -> bool:
        lang = state.lang
        if event.kind is Kind.COMMAND:
            name, arg = commands.normalise(event.command, event.text)
            return await self._command(chat, state, name, arg, out)
        if event.kind is Kind.TEXT and (state.flow, state.step) != ("check", "pass"):
            typed_command = commands.parse(event.text)
            if typed_command is not None:
                return await self._command(chat, state, *typed_command, out)
        if event.kind is Kind.CONTACT:
            out.say(text("contact.refused", lang))
        elif event.kind is Kind.VOICE:
            out.say(text("voice.refused", lang))
        elif event.kind is Kind.OTHER_MEDIA:
            # A text-only channel takes photos only; Telegram takes PDFs too.
            out.say(text("sticker.hint" if self.text_only else "media.hint", lang))
        elif event.kind is Kind.TEXT and fold(event.text) in self._menu_actions:
            await self._menu(chat, state, self._menu_actions[fold(event.text)], out)
        elif event.kind is Kind.BUTTON:
            await self._button(chat, state, event, out, files)
        elif event.kind is Kind.LOCATION:
            if (state.flow, state.step) == ("report", "where"):
                self._location(state, event, out)
            else:
                out.say(text("media.hint", lang))
        elif event.kind is Kind.FILE:
            if (state.flow, state.step) == ("report", "files"):
                await self._file(state, event, out, files)
            else:
                out.say(text("report.file_not_now", lang))
        elif event.kind is Kind.TEXT:
            await self._text(chat, state, event.text, out)
        return False

    async def _command(self, chat: ChatRef, state: ChatState, name: str, arg: str, out: Outcome) -> bool:
        arg = arg.strip()
        if name in ("report", "ask", "status", "subscribe", "support"):
            state.reset()
        if name == "support":
            self._start_support(state, out)
        elif name == "report":
            self._start_report(state, out)
        elif name == "ask":
            self._start_ask(state, out)
        elif name == "status":
            await self._menu(chat, state, "menu.check", out)
        elif name == "subscribe" and (audience := commands.audience(arg)):
            head, _, last = arg.rpartition(" ")
            if self.areas is not None and head and last.isdigit() and len(last) == 5:
                # A commune's poster: subscribed and filed under it in one message.
                await self._subscribe(chat, state, audience, state.lang, out)
                await self.areas.set_area(chat.key, last)
            else:
                await self._b_sub(chat, state, audience, out, None)
        elif name == "subscribe":
            await self._menu(chat, state, "menu.news", out)
        elif name == "unsubscribe":
            await self._b_sub(chat, state, "off", out, None)
        elif name == "start":
            state.reset()
            if arg == "tip":
                self._start_report(state, out)
            elif arg == "ask":
                self._start_ask(state, out)
            elif arg.startswith("sub-"):
                await self._deep_subscribe(chat, state, arg, out)
            else:
                out.say(text("welcome", state.lang), keyboard=self._keyboard(state.lang))
        elif name == "help":
            out.say(text("help", state.lang), keyboard=self._keyboard(state.lang))
        elif name == "cancel":
            state.reset()
            out.say(text("cancel.done", state.lang), keyboard=self._keyboard(state.lang))
        elif name == "language":
            out.say(
                text("language.choose", state.lang),
                buttons=(
                    (
                        Button(text("language.vi", "vi"), "lang:vi"),
                        Button(text("language.en", "en"), "lang:en"),
                    ),
                ),
            )
        elif name == "stop":
            await self.directory.forget(chat.key)
            out.say(text("stop.done", state.lang), keyboard=())
            return True
        else:
            out.say(text("unknown.command", state.lang))
        return False

    async def _menu(self, chat: ChatRef, state: ChatState, action: str, out: Outcome) -> None:
        state.reset()
        if action == "menu.report":
            self._start_report(state, out)
        elif action == "menu.ask":
            self._start_ask(state, out)
        elif action == "menu.check":
            state.start("check", "code")
            out.say(text("check.code", state.lang))
        elif action == "menu.news":
            await self._news(chat, state, out)
        elif action == "menu.support":
            self._start_support(state, out)
        else:
            out.say(text("emergency", state.lang), keyboard=self._keyboard(state.lang))

    # --- typed text, by (flow, step) ------------------------------------------------------

    async def _text(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        step = self._text_steps.get((state.flow, state.step))
        if step is not None:
            await step(chat, state, typed, out)
        elif state.flow == "report" and state.step in _CHOICE_STEPS:
            # A report's draft is never thrown away for a stray text: the step is asked again.
            out.say(text("choice.again", state.lang))
            self._repeat_step(state, out)
        else:
            # Outside a flow (or at a step that wants a button): keep the text, ask what it is.
            state.start("intent", "choose", text=typed)
            lang = state.lang
            out.say(
                text("intent.ask", lang),
                buttons=(
                    (
                        Button(text("btn.report", lang), "intent:report"),
                        Button(text("btn.question", lang), "intent:ask"),
                    ),
                ),
            )

    async def _t_what(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        state.data["text"] = typed
        self._ask_where(state, out)

    async def _t_where(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        if fold(typed) == fold(text("btn.skip", state.lang)):
            self._ask_files(state, out)
        else:
            self._typed_place(state, typed, out)

    async def _t_area(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        self._typed_area(state, typed, out)

    async def _t_code(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        self._receipt_code(state, typed, out)

    async def _t_pass(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        out.delete_incoming = True
        await self._check(state, state.data.get("code", ""), typed, out)

    async def _t_add(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        await self._add_message(state, typed, out)

    # --- buttons, by prefix and the step that showed them -----------------------------------

    async def _button(
        self, chat: ChatRef, state: ChatState, event: Incoming, out: Outcome, files: FileSource | None
    ) -> None:
        prefix, _, value = event.text.partition(":")
        handled = await self._route_button(chat, state, prefix, value, out, files)
        if not handled:
            out.notice = text("callback.changed", state.lang)
            out.say(text("callback.changed", state.lang), keyboard=self._keyboard(state.lang))

    async def _route_button(
        self, chat: ChatRef, state: ChatState, prefix: str, value: str, out: Outcome, files: FileSource | None
    ) -> bool:
        """Buttons act only at the step that showed them; stale ones say the menu changed."""
        route = self._button_steps.get(prefix)
        if route is None:
            return False
        at, handler = route
        if at is not None and at != (state.flow, state.step):
            return False
        return await handler(chat, state, value, out, files)

    async def _b_lang(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        lang = as_language(value)
        if lang is None:
            return False
        state.lang = lang
        out.say(text("language.set", lang), keyboard=self._keyboard(lang))
        return True

    async def _b_sub(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value == "off":
            await self.directory.unsubscribe(chat.key)
            out.say(text("news.unsubscribed", state.lang), keyboard=self._keyboard(state.lang))
            return True
        if value not in AUDIENCES:
            return False
        await self._subscribe(chat, state, value, state.lang, out)
        if self.areas is not None:
            state.start("news", "area")
            out.say(
                text("news.area_ask", state.lang),
                buttons=((Button(text("btn.skip", state.lang), "area:skip"),),),
            )
        return True

    async def _b_intent(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        typed = str(state.data.get("text", ""))
        if value == "report":
            state.start("report", "what", text=typed)
            self._ask_where(state, out)
        elif value == "ask":
            await self._question(chat, state, typed, out)
        else:
            return False
        return True

    async def _b_helped(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value not in ("yes", "no"):
            return False
        await self._helped(chat, state, value == "yes", out)
        return True

    async def _b_area(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        return await self._picked_area(chat, state, value, out)

    async def _b_place(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        return self._picked_place(state, value, out)

    async def _b_location(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value not in ("keep", "drop"):
            return False
        pending = state.data.pop("pending_location", None)
        if value == "keep":
            state.data["location"] = pending
        self._ask_files(state, out)
        return True

    async def _b_files(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value != "done":
            return False
        self._ask_danger(state, out)
        return True

    async def _b_danger(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value not in ("yes", "no"):
            return False
        state.data["urgent"] = value == "yes"
        if value == "yes":
            out.say(text("emergency", state.lang))
        self._ask_confirm(state, out)
        return True

    async def _b_confirm(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, files: FileSource | None
    ) -> bool:
        if value == "send":
            await self._submit_report(chat, state, out, files)
        elif value == "cancel":
            state.reset()
            out.say(text("cancel.done", state.lang), keyboard=self._keyboard(state.lang))
        else:
            return False
        return True

    async def _b_notify(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value not in ("yes", "no"):
            return False
        if value == "yes":
            await self.directory.allow_notices(chat, int(state.data["tip_id"]), state.lang)
        state.reset()
        out.say(
            text(f"notify.{'on' if value == 'yes' else 'off'}", state.lang),
            keyboard=self._keyboard(state.lang),
        )
        return True

    async def _b_check(
        self, chat: ChatRef, state: ChatState, value: str, out: Outcome, _: FileSource | None
    ) -> bool:
        if value == "add" and self._check_still_open(state):
            state.step = "add"
            out.say(text("check.add_prompt", state.lang))
        elif value == "add":
            state.start("check", "code")
            out.say(text("check.expired", state.lang))
            out.say(text("check.code", state.lang))
        elif value == "done":
            state.reset()
            out.say(text("menu.prompt", state.lang), keyboard=self._keyboard(state.lang))
        else:
            return False
        return True
