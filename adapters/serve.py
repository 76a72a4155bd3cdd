"""Running the platform channels together in one asyncio loop: Telegram by long polling or
behind the ASGI app (webhook), Slack in Socket Mode or behind the ASGI app, each with its
outbox deliverer, until asked to stop."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlalchemy import Engine as DatabaseEngine

from adapters.slack import SlackChannel
from adapters.telegram import TelegramChannel
from adapters.web import create_app
from bot.config import Settings
from bot.engine import Engine

log = logging.getLogger(__name__)


async def serve(engine: Engine, database: DatabaseEngine, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    tasks: list[asyncio.Task[object]] = []
    cancel_on_stop: list[asyncio.Task[object]] = []
    telegram = slack = None
    socket_mode = None
    if settings.telegram_token:
        telegram = TelegramChannel(engine, database, settings)
        await telegram.start()
        tasks.append(asyncio.create_task(telegram.deliver_forever(stop), name="telegram-outbox"))
        if not settings.telegram_webhook:
            # a getUpdates long poll would otherwise hold the stop for its timeout
            cancel_on_stop.append(asyncio.create_task(telegram.poll(stop), name="telegram-poll"))
            log.info("Telegram: long polling")
    if settings.slack_bot_token:
        slack = SlackChannel(engine, database, settings)
        await slack.start()
        tasks.append(asyncio.create_task(slack.deliver_forever(stop), name="slack-outbox"))
        if settings.slack_app_token:
            socket_mode = AsyncSocketModeHandler(slack.app, settings.slack_app_token)
            await socket_mode.connect_async()
            log.info("Slack: Socket Mode")
    server: uvicorn.Server | None = None
    web_telegram = telegram if settings.telegram_webhook else None
    web_slack = slack if slack is not None and socket_mode is None else None
    if web_telegram or web_slack:
        config = uvicorn.Config(
            create_app(telegram=web_telegram, slack=web_slack),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        tasks.append(asyncio.create_task(server.serve(), name="http"))
        log.info("Web server on %s:%s", settings.http_host, settings.http_port)
    await stop.wait()
    if server is not None:
        server.should_exit = True
    for task in cancel_on_stop:
        task.cancel()
    if socket_mode is not None:
        await socket_mode.close_async()
    await asyncio.gather(*tasks, *cancel_on_stop, return_exceptions=True)
    if telegram is not None:
        await telegram.stop()
