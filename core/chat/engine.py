"""The conversation rules: one incoming event in, the replies out, the state saved.

Each flow is a few steps (`ChatState.flow` / `step`); a step accepts only what it asked
for, and `/cancel`, `/start` and the menu keys work from anywhere. A tip is committed by
`Reporter.report` before the receipt is shown; nothing else in a flow is stored anywhere
but the chat's own state, which expires after a day of silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core import receipts
from core.attachments import AttachmentPolicy, sanitise
from core.categories import Channel
from core.chat import choices, commands
from core.chat.catalogue import as_language, language_from_hint, text
from core.chat.events import Button, Incoming, KeyboardKey, Kind, Outcome
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
from core.conversation import ReporterView
from core.errors import InvalidInput, NotFound
from core.knowledge import AnswerService
from core.ratelimits import RateLimited
from core.services import Receipt
from core.text import fold
from core.tips import TipDraft

LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
#: How long a checked receipt stays open for "add a message" before we ask again.
CHECK_WINDOW = timedelta(minutes=10)
#: Two decimals of a degree: about 1.1 km, enough for a ward, too coarse for a door.
LOCATION_DECIMALS = 2
_SUMMARY_CHARS = 300

_MENU: tuple[tuple[str, ...], ...] = (
    ("menu.report", "menu.ask"),
    ("menu.check", "menu.news"),
    ("menu.emergency",),
)


class ChatEngine:
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
        attachment_policy: AttachmentPolicy | None = None,
        answers: AnswerService | None = None,
        areas: SubscriberAreas | None = None,
        text_only: bool = False,
    ) -> None:
        self.reporter = reporter
        #: A channel without buttons: every choice is sent as a numbered list instead.
        self.text_only = text_only
        #: The knowledge base; without it every question goes to a counsellor.
        self.answers = answers
        #: Where subscribers' optional commune is kept; without it the step is not offered.
        self.areas = areas
        self.directory = directory
        self.places = places
        self.store = store
        self.clock = clock
        self.channel = channel
        self.policy = attachment_policy or AttachmentPolicy()
        self._menu_actions = {
            fold(text(key, lang)): key for row in _MENU for key in row for lang in ("vi", "en")
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
            out.say(text("media.hint", lang))
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
        if name in ("report", "ask", "status", "subscribe"):
            state.reset()
        if name == "report":
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
                await self._route_button(chat, state, "sub", audience, out, None)
        elif name == "subscribe":
            await self._menu(chat, state, "menu.news", out)
        elif name == "unsubscribe":
            await self._route_button(chat, state, "sub", "off", out, None)
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
        else:
            out.say(text("emergency", state.lang), keyboard=self._keyboard(state.lang))

    async def _text(self, chat: ChatRef, state: ChatState, typed: str, out: Outcome) -> None:
        flow_step = (state.flow, state.step)
        if flow_step == ("report", "what"):
            state.data["text"] = typed
            self._ask_where(state, out)
        elif flow_step == ("report", "where") and fold(typed) == fold(text("btn.skip", state.lang)):
            self._ask_files(state, out)
        elif flow_step == ("report", "where"):
            self._typed_place(state, typed, out)
        elif flow_step in (("ask", "text"), ("ask", "offered")):
            await self._question(chat, state, typed, out)
        elif flow_step == ("news", "area"):
            self._typed_area(state, typed, out)
        elif flow_step == ("check", "code"):
            self._receipt_code(state, typed, out)
        elif flow_step == ("check", "pass"):
            out.delete_incoming = True
            await self._check(state, state.data.get("code", ""), typed, out)
        elif flow_step == ("check", "add"):
            await self._add_message(state, typed, out)
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
        at = (state.flow, state.step)
        if prefix == "lang" and (lang := as_language(value)):
            state.lang = lang
            out.say(text("language.set", lang), keyboard=self._keyboard(lang))
        elif prefix == "sub" and value == "off":
            await self.directory.unsubscribe(chat.key)
            out.say(text("news.unsubscribed", state.lang), keyboard=self._keyboard(state.lang))
        elif prefix == "sub" and value in AUDIENCES:
            await self._subscribe(chat, state, value, state.lang, out)
            if self.areas is not None:
                state.start("news", "area")
                out.say(
                    text("news.area_ask", state.lang),
                    buttons=((Button(text("btn.skip", state.lang), "area:skip"),),),
                )
        elif prefix == "intent" and at == ("intent", "choose") and value in ("report", "ask"):
            typed = str(state.data.get("text", ""))
            if value == "report":
                state.start("report", "what", text=typed)
                self._ask_where(state, out)
            else:
                await self._question(chat, state, typed, out)
        elif prefix == "kb" and at == ("ask", "offered") and value in ("yes", "no"):
            await self._helped(chat, state, value == "yes", out)
        elif prefix == "area" and at == ("news", "area"):
            return await self._picked_area(chat, state, value, out)
        elif prefix == "place" and at == ("report", "where"):
            return self._picked_place(state, value, out)
        elif prefix == "loc" and at == ("report", "location") and value in ("keep", "drop"):
            if value == "keep":
                state.data["location"] = state.data.pop("pending_location", None)
            else:
                state.data.pop("pending_location", None)
            self._ask_files(state, out)
        elif prefix == "files" and value == "done" and at == ("report", "files"):
            self._ask_danger(state, out)
        elif prefix == "danger" and at == ("report", "danger") and value in ("yes", "no"):
            state.data["urgent"] = value == "yes"
            if value == "yes":
                out.say(text("emergency", state.lang))
            self._ask_confirm(state, out)
        elif prefix == "confirm" and at == ("report", "confirm") and value == "send":
            await self._submit_report(chat, state, out, files)
        elif prefix == "confirm" and at == ("report", "confirm") and value == "cancel":
            state.reset()
            out.say(text("cancel.done", state.lang), keyboard=self._keyboard(state.lang))
        elif prefix == "notify" and at == ("notify", "ask") and value in ("yes", "no"):
            if value == "yes":
                await self.directory.allow_notices(chat, int(state.data["tip_id"]), state.lang)
            state.reset()
            out.say(
                text(f"notify.{'on' if value == 'yes' else 'off'}", state.lang),
                keyboard=self._keyboard(state.lang),
            )
        elif prefix == "check" and at == ("check", "open") and value in ("add", "done"):
            if value == "add" and self._check_still_open(state):
                state.step = "add"
                out.say(text("check.add_prompt", state.lang))
            elif value == "add":
                state.start("check", "code")
                out.say(text("check.expired", state.lang))
                out.say(text("check.code", state.lang))
            else:
                state.reset()
                out.say(text("menu.prompt", state.lang), keyboard=self._keyboard(state.lang))
        else:
            return False
        return True

    # --- report flow --------------------------------------------------------------------

    def _repeat_step(self, state: ChatState, out: Outcome) -> None:
        """Show the current choice step of a report again, its draft untouched."""
        if state.step == "files":
            self._ask_files(state, out)
        elif state.step == "danger":
            self._ask_danger(state, out)
        elif state.step == "confirm":
            self._ask_confirm(state, out)
        else:
            lat, lon = state.data.get("pending_location") or (0.0, 0.0)
            self._confirm_location(state, float(lat), float(lon), out)

    def _start_report(self, state: ChatState, out: Outcome) -> None:
        state.start("report", "what")
        out.say(text("report.what", state.lang))

    def _ask_where(self, state: ChatState, out: Outcome) -> None:
        """One reply cannot carry both inline buttons and a keyboard, so «Skip» is a key."""
        state.step = "where"
        lang = state.lang
        out.say(
            text("report.where", lang),
            keyboard=(
                (KeyboardKey(text("btn.share_location", lang), request_location=True),),
                (KeyboardKey(text("btn.skip", lang)),),
            ),
        )

    def _typed_place(self, state: ChatState, typed: str, out: Outcome) -> None:
        found = self.places.candidates(typed)
        state.data["typed_place"] = typed.strip()[:200]
        if not found:
            state.data["place"] = state.data["typed_place"]
            out.say(text("report.where_unknown", state.lang))
            self._ask_files(state, out)
            return
        state.data["offered"] = {p.code: p.name for p in found}
        rows = tuple((Button(p.name, f"place:{p.code}"),) for p in found)
        out.say(
            text("report.where_pick", state.lang),
            buttons=(*rows, (Button(text("btn.none_of_these", state.lang), "place:none"),)),
        )

    def _picked_place(self, state: ChatState, value: str, out: Outcome) -> bool:
        offered: dict[str, str] = state.data.get("offered", {})
        if value == "none" and state.data.get("typed_place"):
            state.data["place"] = state.data["typed_place"]
        elif value in offered:
            state.data["commune_code"] = value
            state.data["commune_name"] = offered[value]
        else:
            return False
        state.data.pop("offered", None)
        self._ask_files(state, out)
        return True

    def _location(self, state: ChatState, event: Incoming, out: Outcome) -> None:
        if event.latitude is None or event.longitude is None:
            out.say(text("media.hint", state.lang))
            return
        lat, lon = round(event.latitude, LOCATION_DECIMALS), round(event.longitude, LOCATION_DECIMALS)
        state.data["pending_location"] = [lat, lon]
        state.step = "location"
        self._confirm_location(state, lat, lon, out)

    def _confirm_location(self, state: ChatState, lat: float, lon: float, out: Outcome) -> None:
        lang = state.lang
        out.say(
            text("report.location_confirm", lang, lat=f"{lat:.2f}", lon=f"{lon:.2f}"),
            buttons=(
                (Button(text("btn.keep", lang), "loc:keep"), Button(text("btn.drop", lang), "loc:drop")),
            ),
        )

    def _ask_files(self, state: ChatState, out: Outcome) -> None:
        state.step = "files"
        state.data.setdefault("files", [])
        lang = state.lang
        out.say(
            text("report.files", lang, max=self.policy.max_files),
            buttons=((Button(text("btn.done", lang), "files:done"),),),
        )

    async def _file(self, state: ChatState, event: Incoming, out: Outcome, files: FileSource | None) -> None:
        """Each file is fetched and checked at once, so the reporter learns straight away
        that a file will not be accepted; only the channel's reference is kept."""
        kept: list[str] = state.data.setdefault("files", [])
        lang, limit = state.lang, self.policy.max_files
        refused = text("report.file_refused", lang, mb=self.policy.max_file_bytes // (1024 * 1024))
        if len(kept) >= limit:
            out.say(text("report.file_too_many", lang, max=limit))
            return
        ref = event.file
        if ref is None or files is None or (ref.size is not None and ref.size > self.policy.max_file_bytes):
            out.say(refused)
            return
        try:
            data = await files.fetch(ref.ref)
            if len(data) <= self.policy.max_file_bytes:
                await asyncio.to_thread(sanitise, data, self.policy)
        except InvalidInput:  # AttachmentRefused included: the same advice fits every case
            out.say(refused)
            return
        if len(data) > self.policy.max_file_bytes:
            out.say(refused)
            return
        kept.append(ref.ref)
        out.say(
            text("report.file_ok", lang, count=len(kept), max=limit),
            buttons=((Button(text("btn.done", lang), "files:done"),),),
        )

    def _ask_danger(self, state: ChatState, out: Outcome) -> None:
        state.step = "danger"
        lang = state.lang
        out.say(
            text("report.danger", lang),
            buttons=(
                (Button(text("btn.yes", lang), "danger:yes"), Button(text("btn.no", lang), "danger:no")),
            ),
        )

    def _ask_confirm(self, state: ChatState, out: Outcome) -> None:
        state.step = "confirm"
        lang, data = state.lang, state.data
        body = str(data.get("text", ""))
        excerpt = body if len(body) <= _SUMMARY_CHARS else body[:_SUMMARY_CHARS] + "…"
        lines = [text("summary.text", lang, text=excerpt)]
        place = self._place_text(state)
        lines.append(text("summary.place", lang, place=place) if place else text("summary.no_place", lang))
        lines.append(text("summary.files", lang, count=len(data.get("files", []))))
        lines.append(text("summary.urgent" if data.get("urgent") else "summary.not_urgent", lang))
        out.say(
            text("report.confirm", lang, summary="\n".join(lines)),
            buttons=(
                (
                    Button(text("btn.send", lang), "confirm:send"),
                    Button(text("btn.cancel", lang), "confirm:cancel"),
                ),
            ),
        )

    def _place_text(self, state: ChatState) -> str:
        data, parts = state.data, []
        if data.get("commune_name"):
            parts.append(str(data["commune_name"]))
        if data.get("place"):
            parts.append(str(data["place"]))
        if data.get("location"):
            lat, lon = data["location"]
            parts.append(text("summary.location", state.lang, lat=f"{lat:.2f}", lon=f"{lon:.2f}"))
        return "; ".join(parts)

    async def _submit_report(
        self, chat: ChatRef, state: ChatState, out: Outcome, files: FileSource | None
    ) -> None:
        data = state.data
        blobs = [await files.fetch(ref) for ref in data.get("files", [])] if files is not None else []
        place_parts = [str(data["place"])] if data.get("place") else []
        if data.get("location"):
            lat, lon = data["location"]
            place_parts.append(f"~{lat:.2f}, {lon:.2f} (shared location, rounded to about 1 km)")
        draft = TipDraft(
            text=str(data.get("text", "")),
            channel=self.channel,
            urgent=bool(data.get("urgent")),
            commune_code=data.get("commune_code"),
            place="; ".join(place_parts) or None,
        )
        receipt = await self._saved(state, out, lambda: self.reporter.report(draft, blobs))
        if receipt is not None:
            self._receipt(state, receipt, "report.receipt", out)

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

    # --- questions ------------------------------------------------------------------------

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

    # --- check my report ------------------------------------------------------------------

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
                (
                    Button(text("btn.add_message", lang), "check:add"),
                    Button(text("btn.done", lang), "check:done"),
                ),
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

    # --- subscriptions ----------------------------------------------------------------------

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

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _keyboard(lang: str) -> tuple[tuple[KeyboardKey, ...], ...]:
        return tuple(tuple(KeyboardKey(text(key, lang)) for key in row) for row in _MENU)


#: Where the choices last shown are kept in the chat's state, to read a typed answer.
_CHOICES = "_choices"
#: Report steps that wait for a choice: a stray text there repeats the step.
_CHOICE_STEPS = frozenset({"files", "danger", "confirm", "location"})

_STAGE_KEYS = frozenset(
    f"stage.{s}" for s in ("received", "verified", "classified", "processed", "referred", "closed")
)


def _local_date(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%d/%m/%Y")
