"""The Slack channel: the real Bolt app receives requests signed here (over HTTP) or envelopes
over a real websocket (Socket Mode), and calls a local server that speaks the Slack Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlmodel import select

from adapters.ratelimit import Limiter, Window
from adapters.slack import SlackChannel
from adapters.web import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import Idea, Membership, Message, OutboxEntry, OutboxStatus, PollVote, RoleName
from tests.adapters.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    app_mention_event,
    envelope_type,
    event_callback,
    message_event,
    signed_request,
    slash_command,
)

CHANNEL, CURATOR, MEMBER = "C0MOBILITY", "U0CURA", "U0MEMBER"


@pytest.fixture
def fs() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


class Harness:
    """One Slack channel on its own event loop, and the way requests reach it in a mode."""

    def __init__(self, database, settings: Settings, fs: FakeSlack, mode: str) -> None:
        self.fs, self.mode = fs, mode
        configured = settings.model_copy(
            update={
                "slack_bot_token": BOT_TOKEN,
                "slack_signing_secret": SIGNING_SECRET,
                "slack_app_token": APP_TOKEN if mode == "socket" else None,
                "slack_api_url": fs.base_url,
            }
        )
        unpaced = Limiter(Window(10_000, 1), None, Window(10_000, 1))
        self.channel = SlackChannel(Engine(database, configured), database, configured, unpaced)
        self.loop = asyncio.new_event_loop()
        self.socket: AsyncSocketModeHandler | None = None
        self.run(self.channel.start())
        if mode == "socket":

            async def connect() -> AsyncSocketModeHandler:
                handler = AsyncSocketModeHandler(self.channel.app, APP_TOKEN)
                await handler.connect_async()
                return handler

            self.socket = self.run(connect())
            fs.wait_connected()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        if self.socket is not None:
            self.run(self.socket.close_async())
        self.loop.close()

    def send(self, payload: dict[str, Any], **http: Any) -> dict[str, Any] | None:
        """Deliver a payload as Slack would in this mode; returns the response payload (the
        HTTP response's JSON, or the ack's payload), then delivers what it caused."""

        async def go() -> dict[str, Any] | None:
            if self.mode == "http":
                body, headers = signed_request(payload, **http)
                transport = httpx.ASGITransport(app=create_app(slack=self.channel))
                async with httpx.AsyncClient(transport=transport, base_url="http://p") as web:
                    response = await web.post("/slack/events", content=body, headers=headers)
                assert response.status_code == 200, response.text
                answer = None
                if response.content:  # Bolt answers JSON, or plain text for a bare message
                    try:
                        answer = response.json()
                    except ValueError:
                        answer = {"text": response.text}
            else:
                kind = envelope_type(payload)
                retry = http.get("retry_num") or 0
                envelope = await asyncio.to_thread(self.fs.send_envelope, kind, payload, retry)
                ack = await asyncio.to_thread(self.fs.wait_for_ack, envelope)
                answer = ack.payload
            await self.channel.deliver_due()
            return answer

        return self.run(go())

    def deliver(self) -> int:
        return self.run(self.channel.deliver_due())


@pytest.fixture(params=["http", "socket"])
def slack(request, database, settings: Settings, fs: FakeSlack) -> Iterator[Harness]:
    harness = Harness(database, settings, fs, request.param)
    yield harness
    harness.close()


def onboarded_curator(database) -> None:
    with transaction(database) as session:
        member = member_for(session, "slack", CURATOR, "Cura")
        member.onboarded_at = member.created_at
        grant(session, member, RoleName.CURATOR, find_sector(session, "mobility"))


def command(text: str, user: str = MEMBER, channel: str = CHANNEL, **kw: Any) -> dict[str, Any]:
    return slash_command(text=text, user_id=user, channel_id=channel, **kw)


def answer_text(answer: dict[str, Any] | None) -> str:
    return (answer or {}).get("text") or ""


def test_join_reply_vote_and_idea_each_reach_the_engine_once(
    slack: Harness, fs: FakeSlack, database
) -> None:
    onboarded_curator(database)
    answer = slack.send(command("join mobility"))
    assert "Welcome to mobility" in answer_text(answer)  # ephemeral, inside the request
    with transaction(database) as session:
        assert len(session.exec(select(Membership)).all()) == 1
        assert session.exec(select(OutboxEntry)).all() == []  # nothing posted to the channel

    assert "now linked to mobility" in answer_text(slack.send(command("link mobility", CURATOR)))
    slack.send(command("thread open mobility Where is a bike lane missing?", CURATOR))
    [root] = [c for c in fs.posted(CHANNEL) if "bike lane" in json.dumps(c.params)]
    root_ts = root.response["ts"]
    reply = event_callback(message_event(CHANNEL, MEMBER, "Along the canal.", thread_ts=root_ts))
    slack.send(reply)
    slack.send(reply, retry_num=1)  # Slack's retry: same event_id
    mention = app_mention_event(
        CHANNEL, MEMBER, "<@U_BOT> Along the canal.", ts=reply["event"]["ts"], thread_ts=root_ts
    )
    slack.send(event_callback(mention))  # the same post, as a mention
    with transaction(database) as session:
        [stored] = session.exec(select(Message)).all()
        assert stored.thread_id == 1 and stored.text == "Along the canal."

    slack.send(command('poll mobility "Which first?" "E-bikes" "Buses"', CURATOR))
    [posted] = [c for c in fs.posted(CHANNEL) if "Which first?" in json.dumps(c.params)]
    poll_ts = posted.response["ts"]
    slack.send(fs.click(MEMBER, CHANNEL, poll_ts, "vote-1"))
    with transaction(database) as session:
        assert [v.option for v in session.exec(select(PollVote))] == [1]
    assert any("counted: Buses" in e.text for e in fs.ephemeral)
    time.sleep(3.2)  # the tally's coalescing window
    slack.deliver()
    shown = fs.messages[CHANNEL][poll_ts]
    assert [b.text for b in shown.buttons] == ["E-bikes · 0", "Buses · 1"]

    trigger = fs.trigger()
    slack.send(command("idea", trigger_id=trigger))
    [view_id] = [v for v, view in fs.views.items() if view.get("callback_id") == "idea"]
    bad = slack.send(fs.submission(view_id, MEMBER, {"title": "", "description": "short"}))
    assert bad is not None and bad["response_action"] == "errors"
    assert {"title", "description", "sector"} <= set(bad["errors"])
    good = {
        "title": "Cargo bikes for shops",
        "description": "Shops in the north share electric cargo bikes for their deliveries.",
        "sector": "mobility",
        "needs": ["data"],
    }
    slack.send(fs.submission(view_id, MEMBER, good))
    with transaction(database) as session:
        [idea] = session.exec(select(Idea)).all()
    assert idea.title == "Cargo bikes for shops" and idea.needs == ["data"]
    assert any(f"Your idea {idea.code}" in json.dumps(c.params) for c in fs.posted())


def test_forged_and_stale_requests_get_401_and_change_nothing(
    database, settings: Settings, fs: FakeSlack
) -> None:
    harness = Harness(database, settings, fs, "http")
    try:

        async def post(body: bytes, headers: dict[str, str]) -> int:
            transport = httpx.ASGITransport(app=create_app(slack=harness.channel))
            async with httpx.AsyncClient(transport=transport, base_url="http://p") as web:
                return (await web.post("/slack/events", content=body, headers=headers)).status_code

        forged = signed_request(command("join mobility"), secret="not-the-secret")
        stale = signed_request(command("join energy"), timestamp=int(time.time()) - 6 * 60)
        assert harness.run(post(*forged)) == 401
        assert harness.run(post(*stale)) == 401
        with transaction(database) as session:
            assert session.exec(select(Membership)).all() == []
    finally:
        harness.close()


def test_injected_429s_delay_delivery_and_lose_nothing(
    database, settings: Settings, fs: FakeSlack
) -> None:
    harness = Harness(database, settings, fs, "http")
    try:
        onboarded_curator(database)
        harness.send(command("link mobility", CURATOR))
        fs.fail_next("chat.postMessage", times=2, status=429, retry_after=1)
        harness.send(command("thread open mobility Heat pumps or district heating?", CURATOR))
        assert not any("Heat pumps" in json.dumps(c.params) for c in fs.posted(CHANNEL))
        with transaction(database) as session:
            waiting = session.exec(select(OutboxEntry)).all()
            assert [e.status for e in waiting] == [OutboxStatus.PENDING]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            "Heat pumps" in json.dumps(c.params) for c in fs.posted(CHANNEL)
        ):
            time.sleep(0.3)
            harness.deliver()
        assert sum("Heat pumps" in json.dumps(c.params) for c in fs.posted(CHANNEL)) == 1
    finally:
        harness.close()


def test_member_text_is_escaped_for_mrkdwn(slack: Harness, fs: FakeSlack, database) -> None:
    onboarded_curator(database)
    slack.send(command("link mobility", CURATOR))
    slack.send(command("thread open mobility Is <!channel> & <@U123> safe?", CURATOR))
    [root] = [c for c in fs.posted(CHANNEL) if "safe?" in json.dumps(c.params)]
    shown = json.dumps(root.params["blocks"])
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in shown and "<!channel>" not in shown


def test_a_result_is_posted_with_its_chart_uploaded(
    slack: Harness, fs: FakeSlack, database
) -> None:
    onboarded_curator(database)
    slack.send(command("link mobility", CURATOR))
    slack.send(command('poll mobility "Which first?" "E-bikes" "Buses"', CURATOR))
    slack.send(command("poll close 1", CURATOR))
    [upload] = fs.uploads
    assert upload.data.startswith(b"\x89PNG") and upload.filename == "poll-1.png"
    assert "E-bikes: 0" in (upload.alt_txt or "")
    assert any("Result of poll #1" in json.dumps(c.params) for c in fs.posted(CHANNEL))
