"""Process tuning and serving for `hotline serve`: `gc.freeze()` after start-up keeps the
long-lived engines out of full collections (which paused every request in flight), quiet
answers to malformed requests, and the SIGTERM drain."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import suppress
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

log = logging.getLogger("aiohttp.server")


async def _freeze_startup_objects(app: web.Application) -> None:
    del app
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()


def freeze_after_startup(app: web.Application) -> web.Application:
    """Freeze once the app has started (its services opened, the engines loaded)."""
    app.on_startup.append(_freeze_startup_objects)
    return app


# ---- serving: malformed requests and SIGTERM --------------------------------------------

#: The headers every answer carries (handlers/app.py adds them to the app's own answers).
PLAIN_ERROR_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


class _PlainErrors(RequestHandler):
    """A request the web library cannot parse (a bad header, a bad method) or a handler
    that escaped every middleware: a plain `400 Bad Request` (or the status) with the
    security headers, never the library's text quoting the request's bytes back; logged
    by the error's type only, never with the peer address."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        del message  # the library's description quotes the malformed bytes
        log.warning("refused a request it could not handle (%s)", type(exc).__name__ if exc else status)
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had begun; the connection is closed")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        response = web.Response(status=status, text=f"{status} {phrase}\n", headers=PLAIN_ERROR_HEADERS)
        response.force_close()
        return response


class _PlainErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _PlainErrors(self, loop=self._loop, **self._kwargs)


class PlainErrorRunner(web.AppRunner):
    """The app's runner, serving connections through `_PlainErrors`, and draining kept-alive
    connections on the way out.

    The web library closes idle kept-alive connections as soon as it stops listening; a
    client that had just written a request on one then gets no answer, and cannot know
    whether its tip arrived. Instead, for up to `drain_seconds` after the listener closes,
    every answer says `Connection: close` and requests still arriving on open connections
    are served; only what is still open after that is closed.
    """

    def __init__(self, app: web.Application, *, drain_seconds: float = 0.0, **kwargs: Any) -> None:
        self.drain_seconds = drain_seconds
        self.draining = False
        app.on_response_prepare.append(self._close_when_draining)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _PlainErrorServer
        return server

    async def _close_when_draining(self, request: web.Request, response: StreamResponse) -> None:
        del request
        if self.draining:
            # The headers are already prepared when this hook runs: say it in them too.
            response.force_close()
            response.headers["Connection"] = "close"

    async def cleanup(self) -> None:
        for site in list(self.sites):
            await site.stop()  # no new connections from here on
        self.draining = True
        server = self.server
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds
        # Connections close themselves after a `Connection: close` answer; the web library
        # announces no such event, so its list is looked at every 50 ms.
        while server is not None and server.connections and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await super().cleanup()


def serve(
    app: web.Application,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    drain_seconds: float = 0.0,
    **runner_args: Any,
) -> None:
    """Serve until SIGTERM or SIGINT, as `web.run_app` does (the same order on the way out:
    stop accepting, drain kept-alive connections for up to `drain_seconds`, let requests in
    flight finish within `shutdown_timeout`, then the app's cleanup), with `PlainErrorRunner`."""

    async def main() -> None:
        runner = PlainErrorRunner(
            app,
            handle_signals=True,
            shutdown_timeout=shutdown_timeout,
            drain_seconds=drain_seconds,
            **runner_args,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            print(f"======== Running on http://{host}:{port} ========", flush=True)
            await asyncio.Event().wait()  # until SIGTERM/SIGINT ends the task
        finally:
            await runner.cleanup()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    task = loop.create_task(main())
    try:
        loop.run_until_complete(task)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not task.done():
            task.cancel()  # only the serving task: requests in flight are waited for
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
