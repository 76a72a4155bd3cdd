"""The project's ASGI app: the endpoints platforms post to (Telegram's webhook, Slack's events),
served by uvicorn on POLDER_HTTP_HOST:POLDER_HTTP_PORT."""

from __future__ import annotations

import hmac
import json
import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from adapters.slack import SlackChannel
from adapters.telegram import TelegramChannel

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def create_app(
    telegram: TelegramChannel | None = None, slack: SlackChannel | None = None
) -> Starlette:
    routes = [Route("/health", health, methods=["GET"])]
    if telegram is not None:
        routes.append(Route("/telegram/webhook", telegram_webhook(telegram), methods=["POST"]))
    if slack is not None:
        # Events, interactivity and the slash command share one Request URL; Bolt checks
        # the signature (401 for a forged one or a timestamp older than 5 minutes).
        handler = AsyncSlackRequestHandler(slack.app)
        routes.append(Route("/slack/events", handler.handle, methods=["POST"]))
    return Starlette(routes=routes)


async def health(_request: Request) -> Response:
    return PlainTextResponse("ok")


def telegram_webhook(channel: TelegramChannel):  # noqa: ANN201  (a Starlette endpoint)
    """Telegram posts each update here; only a request with our secret token is believed."""
    secret = (channel.settings.telegram_webhook_secret or "").encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return JSONResponse({"error": "wrong or missing secret token"}, status_code=403)
        try:
            data = json.loads(await request.body())
            update = Update.de_json(data, channel.bot)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": f"not a Telegram update: {exc}"}, status_code=400)
        if update is None:
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        await channel.process(update)
        return JSONResponse({})

    return endpoint
