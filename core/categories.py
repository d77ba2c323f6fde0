"""Stable category codes."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    VENUE = "venue"
    ONLINE = "online"
    TRAFFICKING = "trafficking"
    MINOR = "minor"
    STREET = "street"
    OFFICIAL_MISCONDUCT = "official_misconduct"
    COMPLAINT = "complaint"
    OBSCENE_MATERIAL = "obscene_material"
    INFO_REQUEST = "info_request"
    SPAM = "spam"


class Channel(StrEnum):
    """Where a tip came from: the public channels, then those an officer registers."""

    WEB = "web"
    TELEGRAM = "telegram"
    ZALO = "zalo"
    PHONE = "phone"
    IN_PERSON = "in_person"
    LETTER = "letter"
    TIP_BOX = "tip_box"
    FORWARDED = "forwarded"


#: Channels through which the informant reaches the system themselves.
SELF_SERVICE_CHANNELS: frozenset[Channel] = frozenset({Channel.WEB, Channel.TELEGRAM, Channel.ZALO})


#: Categories that describe a person at risk; a tip in them is urgent unless an officer
#: says otherwise (a minor involved, trafficking in progress).
URGENT_BY_NATURE: frozenset[Category] = frozenset({Category.MINOR, Category.TRAFFICKING})
