"""Telegram adapter (python-telegram-bot 22): a thin channel over the same core services
and the channel-neutral conversation in `core.chat`."""

import os

# Opt in now to PTB's coming `timedelta` durations (`RetryAfter.retry_after`): without it
# every 429 raises a deprecation warning, and our limiter handles both forms anyway.
os.environ.setdefault("PTB_TIMEDELTA", "true")
