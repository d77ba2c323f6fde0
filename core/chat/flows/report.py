"""The report flow: what happened → where (a commune, a typed place or a shared location,
rounded) → photos and PDFs, each checked at once → is someone in danger now → confirm →
saved, with the receipt shown."""

from __future__ import annotations

import asyncio

from core.attachments import sanitise
from core.chat.catalogue import text
from core.chat.events import Button, Incoming, KeyboardKey, Outcome
from core.chat.flows.base import FlowBase
from core.chat.ports import ChatRef, FileSource
from core.chat.state import ChatState
from core.errors import InvalidInput
from core.tips import TipDraft

#: Two decimals of a degree: about 1.1 km, enough for a ward, too coarse for a door.
LOCATION_DECIMALS = 2
_SUMMARY_CHARS = 300


class ReportFlow(FlowBase):
    def _start_report(self, state: ChatState, out: Outcome) -> None:
        state.start("report", "what")
        out.say(text("report.what", state.lang))

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
