"""Content items of the prevention library and the rules of their review.

An item is one text (Telegram HTML), optionally an image and a link, written for one
audience in one language. Items that say the same thing in vi and en share a `group`, so
a campaign can give every subscriber the version in their own language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.errors import IllegalTransition, InvalidInput

#: Who prevention content is written for (the same list as core.chat.ports).
AUDIENCES: tuple[str, ...] = ("student", "worker", "service_worker", "parent", "general")
LANGUAGES: tuple[str, ...] = ("vi", "en")
#: Telegram's limits: a message's text, and the caption under a photo.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_REF = 500
_GROUP = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")


class ItemState(StrEnum):
    DRAFT = "draft"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    RETIRED = "retired"


#: Allowed moves. Publishing needs a review first; retiring is final (write a new item).
ITEM_TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    ItemState.DRAFT: frozenset({ItemState.REVIEWED, ItemState.RETIRED}),
    ItemState.REVIEWED: frozenset({ItemState.PUBLISHED, ItemState.DRAFT, ItemState.RETIRED}),
    ItemState.PUBLISHED: frozenset({ItemState.RETIRED}),
    ItemState.RETIRED: frozenset(),
}


def check_item_transition(current: ItemState, target: ItemState) -> None:
    """Raise IllegalTransition unless `current → target` is in ITEM_TRANSITIONS."""
    if target not in ITEM_TRANSITIONS[current]:
        raise IllegalTransition(f"a {current.value} item cannot become {target.value}")


@dataclass(frozen=True)
class ContentDraft:
    """What an editor writes; validated by `validate_draft`."""

    audience: str
    language: str
    text: str
    title: str = ""
    image: str | None = None
    link: str | None = None
    #: Links translations: the vi and en versions of one message share a group.
    group: str | None = None


@dataclass(frozen=True)
class Step:
    """Who moved an item to a state, and when."""

    by: str
    at: datetime


@dataclass(frozen=True)
class ContentItem:
    id: int
    group: str
    audience: str
    language: str
    title: str
    text: str
    image: str | None
    link: str | None
    state: ItemState
    created: Step
    reviewed: Step | None = None
    published: Step | None = None
    retired: Step | None = None

    def suits(self, audience: str) -> bool:
        """A `general` item may go to any audience; others only to their own."""
        return self.audience in ("general", audience)


def validate_draft(draft: ContentDraft) -> ContentDraft:
    """Check audience, language, lengths, link and image; return the draft trimmed."""
    if draft.audience not in AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}")
    if draft.language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    text = draft.text.strip()
    if not text:
        raise InvalidInput("text must not be empty")
    image = (draft.image or "").strip() or None
    limit = MAX_CAPTION if image else MAX_TEXT
    if len(text) > limit:
        raise InvalidInput(
            f"text is longer than {limit} characters (Telegram's limit{' for a caption' if image else ''})"
        )
    link = (draft.link or "").strip() or None
    if link is not None and (not link.startswith(("https://", "http://")) or len(link) > MAX_REF):
        raise InvalidInput("link must be an http(s) URL of at most 500 characters")
    if image is not None and len(image) > MAX_REF:
        raise InvalidInput("image must be a path or URL of at most 500 characters")
    group = (draft.group or "").strip().lower() or None
    if group is not None and not _GROUP.match(group):
        raise InvalidInput("group must be 1-64 characters: a-z, 0-9 and . _ : -")
    title = draft.title.strip()[:120] or _title_from(text)
    return ContentDraft(draft.audience, draft.language, text, title, image, link, group)


def _title_from(text: str) -> str:
    """The first line without Telegram HTML tags, cut to 80 characters."""
    first = re.sub(r"<[^>]+>", "", text.strip().splitlines()[0]).strip()
    return first[:80]


def pick_translation(versions: dict[str, ContentItem], language: str) -> ContentItem | None:
    """The subscriber's language, else Vietnamese, else whatever exists."""
    for lang in (language, "vi", *LANGUAGES):
        if lang in versions:
            return versions[lang]
    return next(iter(versions.values()), None)
