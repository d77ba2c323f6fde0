"""Domain core: tip lifecycle, deadlines, KPI and routing.

Plain Python only. Nothing here imports aiohttp, telegram or SQLAlchemy, so the rules
can be tested without I/O and reused by every channel (web, Telegram, Zalo later).
"""
