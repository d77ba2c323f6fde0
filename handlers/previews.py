"""How an outreach text will look on each channel, for the staff content pages.

Telegram shows the `<b>`, `<i>` and `<a href>` tags of the text as formatting; Zalo and
the public library show plain text, so the tags disappear there. Everything else in the
text is escaped: the preview can never run markup an author typed.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from markupsafe import Markup

_KEPT = {"b", "i", "a"}


class _Preview(HTMLParser):
    def __init__(self, formatted: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.formatted = formatted
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.formatted or tag not in _KEPT:
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("https://", "http://", "tg://")):
                return
            self.out.append(f'<a href="{escape(href)}" rel="noopener noreferrer">')
        else:
            self.out.append(f"<{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.formatted and tag in self.open:
            while self.open:
                closing = self.open.pop()
                self.out.append(f"</{closing}>")
                if closing == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data))


def preview(text: str, *, formatted: bool) -> Markup:
    """The text as a channel shows it: Telegram's three tags kept (formatted) or none."""
    parser = _Preview(formatted)
    parser.feed(text)
    parser.close()
    parser.out.extend(f"</{tag}>" for tag in reversed(parser.open))
    return Markup("".join(parser.out))  # noqa: S704  # every piece above was escaped or is one of our tags
