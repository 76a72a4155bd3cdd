"""Running the platform channels together in one asyncio loop: Telegram by long polling or
behind the ASGI app (webhook), each with its outbox deliverer, until asked to stop."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from sqlalchemy import Engine as DatabaseEngine

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
    telegram = TelegramChannel(engine, database, settings)
    await telegram.start()
    tasks = [asyncio.create_task(telegram.deliver_forever(stop), name="telegram-outbox")]
    server: uvicorn.Server | None = None
    if settings.telegram_webhook:
        config = uvicorn.Config(
            create_app(telegram=telegram),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        tasks.append(asyncio.create_task(server.serve(), name="http"))
        log.info("Telegram webhook served on %s:%s", settings.http_host, settings.http_port)
    else:
        polling = asyncio.create_task(telegram.poll(stop), name="telegram-polling")
        tasks.append(polling)
        log.info("Telegram: long polling")
    await stop.wait()
    if server is not None:
        server.should_exit = True
    else:
        polling.cancel()  # a getUpdates long poll would otherwise hold the stop for its timeout
    await asyncio.gather(*tasks, return_exceptions=True)
    await telegram.stop()
