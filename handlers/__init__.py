"""HTTP adapter: aiohttp handlers that parse, call one service, and answer."""
