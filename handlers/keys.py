"""Typed application state."""

from __future__ import annotations

import asyncio

from aiohttp import web

from handlers.metrics import Metrics
from hotline.bootstrap import Services
from hotline.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)
#: Set when the server begins to stop: answers then close their connection (handlers/app.py).
STOPPING = web.AppKey("stopping", asyncio.Event)
