"""Where a request comes from, as far as rate limits and cookies need to know.

The client's address is the socket peer, or, when the peer is one of the reverse proxies
in HOTLINE_TRUSTED_PROXIES, the nearest address in `X-Forwarded-For` that is not itself a
trusted proxy (the right-most untrusted one: a client can write anything to the left of
what the proxy appends). `X-Forwarded-Proto` is believed from those proxies only. The
address is turned into a source (core.sources) at once and never logged or stored.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from handlers.keys import SERVICES, SETTINGS

_SOURCE = web.RequestKey("hotline.source", str)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _peer(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    if isinstance(peer, tuple | list) and peer:
        return str(peer[0])
    return "unknown"


def _trusted(request: web.Request, address: IpAddress | None) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in request.app[SETTINGS].trusted_networks)


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or what a trusted proxy says it forwarded for."""
    peer = _peer(request)
    if not _trusted(request, _ip(peer)):
        return peer
    hops = [hop for value in request.headers.getall("X-Forwarded-For", []) for hop in value.split(",")]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return peer  # a garbled chain: the proxy is the best we know
        if not _trusted(request, address):
            return str(address)
    return peer


def is_https(request: web.Request) -> bool:
    """The client's connection is TLS: ours, or a trusted proxy's (X-Forwarded-Proto)."""
    if request.secure:
        return True
    if not _trusted(request, _ip(_peer(request))):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "")
    return proto.split(",")[-1].strip().lower() == "https"


async def source_of(request: web.Request) -> str:
    """The request's rate-limit source: a keyed hash of the client's address (cached)."""
    if _SOURCE in request:
        return request[_SOURCE]
    source = await request.app[SERVICES].sources.source(client_address(request))
    request[_SOURCE] = source
    return source
