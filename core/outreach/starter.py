"""The shipped starter content (core/data/outreach_content.json), read and validated."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from core.outreach.content import LANGUAGES, ContentDraft, validate_draft

SHIPPED_BY = "system (starter content)"


@cache
def starter_drafts() -> tuple[ContentDraft, ...]:
    """Every item of every group, in both languages, validated like an editor's draft."""
    raw = json.loads(resources.files("core").joinpath("data/outreach_content.json").read_text("utf-8"))
    drafts = []
    for entry in raw["items"]:
        for lang in LANGUAGES:
            version = entry.get(lang)
            if version is None:
                continue
            drafts.append(
                validate_draft(
                    ContentDraft(
                        audience=entry["audience"],
                        language=lang,
                        text=version["text"],
                        title=version.get("title", ""),
                        image=version.get("image"),
                        link=version.get("link"),
                        group=entry["group"],
                    )
                )
            )
    return tuple(drafts)
