"""Youth outreach: the content library, campaigns and the broadcast engine.

Plain Python: storage implements `core.outreach.ports`, the Telegram adapter the `Sender`.
"""

from core.outreach.campaigns import Campaign, CampaignState, DeliveryState, Progress
from core.outreach.content import AUDIENCES, LANGUAGES, ContentDraft, ContentItem, ItemState
from core.outreach.service import CLI_ACTOR, OutreachService

__all__ = [
    "AUDIENCES",
    "CLI_ACTOR",
    "LANGUAGES",
    "Campaign",
    "CampaignState",
    "ContentDraft",
    "ContentItem",
    "DeliveryState",
    "ItemState",
    "OutreachService",
    "Progress",
]
