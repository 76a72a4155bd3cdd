"""The fake Slack server, driven by slack_sdk's real clients and a real Bolt app."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qs

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.fake_slack import (
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    FakeSlack,
    block_action,
    envelope_type,
    event_callback,
    message_event,
    sign,
    signed_request,
    slash_command,
    trigger_id,
    view_submission,
)

T = TypeVar("T")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Which day?*"}},
    {
        "type": "actions",
        "block_id": "poll-1",
        "elements": [
            {
                "type": "button",
                "action_id": "vote-1-0",
                "text": {"type": "plain_text", "text": "Monday"},
                "value": "0",
            },
            {
                "type": "button",
                "action_id": "vote-1-1",
                "text": {"type": "plain_text", "text": "Friday"},
                "value": "1",
            },
        ],
    },
]
IDEA_VIEW = {
    "type": "modal",
    "callback_id": "idea",
    "private_metadata": "sector=mobility",
    "title": {"type": "plain_text", "text": "Your idea"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "kind",
            "label": {"type": "plain_text", "text": "Kind"},
            "element": {
                "type": "static_select",
                "action_id": "value",
                "options": [
                    {"text": {"type": "plain_text", "text": "Pilot"}, "value": "pilot"},
                    {"text": {"type": "plain_text", "text": "Study"}, "value": "study"},
                ],
            },
        },
    ],
}


@pytest.fixture
def fs() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def run(fs: FakeSlack, body: Callable[[AsyncWebClient], Awaitable[T]], token: str = BOT_TOKEN) -> T:
    """Run `body` with an AsyncWebClient pointed at the fake server."""

    async def main() -> T:
        return await body(AsyncWebClient(token, base_url=fs.base_url))

    return asyncio.run(main())


def api_error(fs: FakeSlack, body: Callable[[AsyncWebClient], Awaitable[Any]]) -> SlackApiError:
    """The SlackApiError `body` raises."""
    with pytest.raises(SlackApiError) as caught:
        run(fs, body)
    return caught.value


# --- Web API ------------------------------------------------------------------------------------


def test_base_url_and_auth_test(fs: FakeSlack) -> None:
    assert fs.base_url.endswith("/api/")
    result = run(fs, lambda c: c.auth_test())
    assert result["ok"] is True
    assert (result["user_id"], result["bot_id"], result["team_id"]) == (
        BOT_USER_ID,
        BOT_ID,
        TEAM_ID,
    )
    assert result["url"].startswith("https://")
    assert "chat:write" in result.headers["X-OAuth-Scopes"]
    call = fs.calls[-1]
    assert call.method == "auth.test" and call.token == BOT_TOKEN
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


def test_tokens_are_checked(fs: FakeSlack) -> None:
    for token, error in (
        (None, "not_authed"),
        ("xoxb-0-0-wrong", "invalid_auth"),
        (APP_TOKEN, "not_allowed_token_type"),
    ):
        with pytest.raises(SlackApiError) as caught:
            run(fs, lambda c: c.auth_test(), token=token)  # type: ignore[arg-type]
        assert caught.value.response["error"] == error
    fs.revoke(BOT_TOKEN)
    assert api_error(fs, lambda c: c.auth_test()).response["error"] == "token_revoked"


def test_wire_formats_as_slack_sdk_sends_them(fs: FakeSlack) -> None:
    async def body(client: AsyncWebClient) -> None:
        await client.chat_postMessage(channel="C_GENERAL", text="json")
        await client.users_info(user="U_ALICE", include_locale=True)
        await client.conversations_open(users=["U_ALICE"])

    run(fs, body)
    post, info, opened = fs.calls
    assert (post.verb, post.encoding) == ("POST", "json")
    assert (info.verb, info.encoding) == ("GET", "query") and info.params["include_locale"] == "1"
    assert (opened.verb, opened.encoding, opened.params) == ("POST", "query", {"users": "U_ALICE"})

    sync = WebClient(BOT_TOKEN, base_url=fs.base_url)
    sync.conversations_open(users=["U_BOB"])
    sync.chat_postMessage(channel="C_GENERAL", text="sync", blocks=BUTTONS)
    form, posted = fs.calls[-2:]
    assert (form.encoding, form.params) == ("form", {"users": "U_BOB"})
    assert posted.encoding == "json" and posted.headers["Content-Type"].startswith(
        "application/json"
    )
    assert fs.shown("C_GENERAL")[-1].buttons[1].value == "1"


def test_post_update_and_message_not_found(fs: FakeSlack) -> None:
    async def body(client: AsyncWebClient) -> tuple[Any, ...]:
        first = await client.chat_postMessage(channel="C_GENERAL", text="Question?", blocks=BUTTONS)
        reply = await client.chat_postMessage(
            channel="C_GENERAL", text="In the thread", thread_ts=first["ts"]
        )
        edited = await client.chat_update(channel="C_GENERAL", ts=first["ts"], text="Closed")
        with pytest.raises(SlackApiError) as missing:
            await client.chat_update(channel="C_GENERAL", ts="1.000001", text="x")
        return first, reply, edited, missing.value

    first, reply, edited, missing = run(fs, body)
    assert first["channel"] == "C_GENERAL" and float(reply["ts"]) > float(first["ts"])
    assert reply["message"]["thread_ts"] == first["ts"]
    assert first["message"]["bot_id"] == BOT_ID
    assert all("block_id" in b for b in first["message"]["blocks"])
    assert edited["text"] == "Closed" and edited["message"]["edited"]["user"] == BOT_USER_ID
    assert missing.response["error"] == "message_not_found"
    shown = fs.messages["C_GENERAL"][first["ts"]]
    assert (shown.text, shown.edits, shown.history[0][0]) == ("Closed", 1, "Question?")
    assert [b.action_id for b in shown.buttons] == ["vote-1-0", "vote-1-1"]
    assert fs.thread("C_GENERAL", first["ts"])[0].text == "In the thread"
    assert [c.params["text"] for c in fs.posted("C_GENERAL")] == ["Question?", "In the thread"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_refusals_as_slack_words_them(fs: FakeSlack) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C_GENERAL"}, "no_text"),
        ({"channel": "", "text": "x"}, "channel_not_found"),
        ({"channel": "#general", "text": "x"}, "channel_not_found"),
        ({"channel": "C_GENERAL", "text": "x", "thread_ts": "yesterday"}, "invalid_thread_ts"),
        (
            {"channel": "C_GENERAL", "blocks": [{"type": "divider"}] * 51},
            "invalid_blocks",
        ),
        (
            {
                "channel": "C_GENERAL",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"channel": "C_GENERAL", "blocks": [{"kind": "section"}]}, "invalid_blocks"),
    ]
    for params, error in cases:
        found = api_error(fs, lambda c, p=params: c.chat_postMessage(**p))  # type: ignore[misc]
        assert found.response["error"] == error, params
    too_long = fs.calls[-2].response
    assert too_long["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    fs.remove_bot("C_GONE")
    gone = api_error(fs, lambda c: c.chat_postMessage(channel="C_GONE", text="x"))
    assert gone.response["error"] == "not_in_channel"
    assert fs.posted() == []


def test_ephemeral_dm_and_users_info(fs: FakeSlack) -> None:
    fs.add_user("U_ALICE", real_name="Alice", locale="nl-NL")

    async def body(client: AsyncWebClient) -> tuple[Any, ...]:
        eph = await client.chat_postEphemeral(channel="C_GENERAL", user="U_ALICE", text="Only you")
        opened = await client.conversations_open(users="U_ALICE")
        again = await client.conversations_open(users="U_ALICE")
        direct = await client.chat_postMessage(channel="U_ALICE", text="Hi")
        with_locale = await client.users_info(user="U_ALICE", include_locale=True)
        plain = await client.users_info(user="U_BOB")
        return eph, opened, again, direct, with_locale, plain

    eph, opened, again, direct, with_locale, plain = run(fs, body)
    assert fs.ephemeral[0].user == "U_ALICE" and fs.ephemeral[0].message_ts == eph["message_ts"]
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and dm == fs.im_channel("U_ALICE") == again["channel"]["id"]
    assert again["already_open"] is True and direct["channel"] == dm
    assert with_locale["user"]["locale"] == "nl-NL" and with_locale["user"]["real_name"] == "Alice"
    assert "locale" not in plain["user"]
    fs.set_locale("U_BOB", "de-DE")
    assert run(fs, lambda c: c.users_info(user="U_BOB", include_locale=True))["user"]["locale"] == (
        "de-DE"
    )
    missing = api_error(
        fs, lambda c: c.api_call("chat.postEphemeral", json={"channel": "C_GENERAL", "text": "x"})
    )
    assert missing.response["error"] == "invalid_arguments"


def test_files_upload_v2_end_to_end(fs: FakeSlack) -> None:
    async def body(client: AsyncWebClient) -> Any:
        first = await client.chat_postMessage(channel="C_GENERAL", text="Poll")
        return await client.files_upload_v2(
            channel="C_GENERAL",
            file=PNG,
            filename="poll-1.png",
            title="Poll results",
            alt_txt="Bar chart: Monday 3, Friday 5",
            thread_ts=first["ts"],
            initial_comment="Results",
        )

    result = run(fs, body)
    assert result["file"]["name"] == "poll-1.png" and result["file"]["title"] == "Poll results"
    [upload] = fs.uploads
    assert upload.data == PNG and upload.length == len(PNG)
    assert (upload.filename, upload.title, upload.alt_txt) == (
        "poll-1.png",
        "Poll results",
        "Bar chart: Monday 3, Friday 5",
    )
    assert upload.channel == "C_GENERAL" and upload.thread_ts == fs.posted()[0].response["ts"]
    assert upload.initial_comment == "Results"
    methods = [c.method for c in fs.calls]
    assert methods[1:] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert fs.calls[-1].params["files"] == [{"id": upload.file_id, "title": "Poll results"}]

    sync = WebClient(BOT_TOKEN, base_url=fs.base_url)
    sync.files_upload_v2(channel="C_OTHER", content=b"abc", filename="a.txt", title="A")
    assert fs.uploads[-1].data == b"abc" and fs.uploads[-1].channel == "C_OTHER"
    unknown = api_error(
        fs, lambda c: c.files_completeUploadExternal(files=[{"id": "F_NONE", "title": "x"}])
    )
    assert unknown.response["error"] == "file_not_found"


def test_views_open_needs_a_fresh_trigger(fs: FakeSlack) -> None:
    fresh, stale = fs.trigger(), fs.trigger(age=4)

    async def body(client: AsyncWebClient) -> tuple[Any, ...]:
        opened = await client.views_open(trigger_id=fresh, view=IDEA_VIEW)
        errors = []
        for trigger in (fresh, stale, "123.456.abc", trigger_id(time.time() - 10)):
            with pytest.raises(SlackApiError) as caught:
                await client.views_open(trigger_id=trigger, view=IDEA_VIEW)
            errors.append(caught.value.response["error"])
        return opened, errors

    opened, errors = run(fs, body)
    assert errors == [
        "exchanged_trigger_id",
        "expired_trigger_id",
        "invalid_trigger_id",
        "expired_trigger_id",
    ]
    view = opened["view"]
    assert view["callback_id"] == "idea" and fs.views[view["id"]]["hash"] == view["hash"]
    assert view["blocks"][0]["block_id"] == "title"

    submission = fs.submission(view["id"], "U_ALICE", {"title": "Bike lanes", "kind": "pilot"})
    assert submission["type"] == "view_submission"
    assert submission["view"]["private_metadata"] == "sector=mobility"
    values = submission["view"]["state"]["values"]
    assert values["title"]["value"] == {"type": "plain_text_input", "value": "Bike lanes"}
    assert values["kind"]["value"]["selected_option"]["value"] == "pilot"
    with pytest.raises(ValueError):
        fs.submission(view["id"], "U_ALICE", {"nope": "x"})

    bad_title = {**IDEA_VIEW, "title": {"type": "plain_text", "text": "x" * 25}}
    no_submit = {k: v for k, v in IDEA_VIEW.items() if k != "submit"}
    for broken in (bad_title, no_submit):
        found = api_error(fs, lambda c, v=broken: c.views_open(trigger_id=fs.trigger(), view=v))
        assert found.response["error"] == "invalid_arguments"
        assert found.response["response_metadata"]["messages"]

    async def update(client: AsyncWebClient) -> Any:
        with pytest.raises(SlackApiError) as conflict:
            await client.views_update(view_id=view["id"], view=IDEA_VIEW, hash="1.stale")
        assert conflict.value.response["error"] == "hash_conflict"
        return await client.views_update(view_id=view["id"], view=IDEA_VIEW, hash=view["hash"])

    updated = run(fs, update)
    assert updated["view"]["id"] == view["id"] and updated["view"]["hash"] != view["hash"]


def test_injected_429_and_errors(fs: FakeSlack) -> None:
    fs.fail_next("chat.postMessage", times=2, retry_after=1)
    limited = api_error(fs, lambda c: c.chat_postMessage(channel="C_GENERAL", text="x"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "1"
    assert limited.response["error"] == "ratelimited"

    async def patient(client: AsyncWebClient) -> Any:
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        return await client.chat_postMessage(channel="C_GENERAL", text="delayed, not lost")

    started = time.monotonic()
    result = run(fs, patient)
    assert time.monotonic() - started >= 1.0
    assert result["ok"] and [c.params["text"] for c in fs.posted()] == ["delayed, not lost"]
    assert fs.too_many == 2 and [c.injected for c in fs.calls] == [True, True, False]

    fs.fail_next("views.open", error="internal_error")
    failed = api_error(fs, lambda c: c.views_open(trigger_id=fs.trigger(), view=IDEA_VIEW))
    assert failed.response.status_code == 200 and failed.response["error"] == "internal_error"
    assert fs.views == {}
    fs.fail_next("chat.postMessage", channel="C_OTHER")
    assert run(fs, lambda c: c.chat_postMessage(channel="C_GENERAL", text="y"))["ok"]


def test_enforced_pace_per_channel() -> None:
    with FakeSlack(enforce_limits=True) as fs:

        async def body(client: AsyncWebClient) -> SlackApiError:
            await client.chat_postMessage(channel="C_ONE", text="1")
            await client.chat_postMessage(channel="C_TWO", text="other channel")
            with pytest.raises(SlackApiError) as caught:
                await client.chat_postMessage(channel="C_ONE", text="2")
            return caught.value

        refused = run(fs, body)
        assert refused.response.status_code == 429
        assert int(refused.response.headers["Retry-After"]) >= 1
        assert fs.too_many_enforced == 1
        assert [c.params["text"] for c in fs.posted()] == ["1", "other channel"]


# --- Socket Mode --------------------------------------------------------------------------------


def test_socket_mode_hello_envelope_and_ack(fs: FakeSlack) -> None:
    received: list[dict[str, Any]] = []
    requests: list[SocketModeRequest] = []

    async def on_message(
        _client: AsyncBaseSocketModeClient, message: dict, _raw: str | None
    ) -> None:
        received.append(message)

    async def on_request(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        requests.append(request)
        payload = {"response_action": "errors", "errors": {"title": "Too short"}}
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    async def main() -> tuple[str, str, str]:
        client = SocketModeClient(
            app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=fs.base_url)
        )
        client.message_listeners.append(on_message)
        client.socket_mode_request_listeners.append(on_request)
        try:
            await client.connect()
            await fs.wait_connected_async()
            await fs.wait_until_async(lambda: any(m.get("type") == "hello" for m in received))
            payload = view_submission("U_ALICE", "idea", {"title": {"value": {"value": "x"}}})
            first = fs.send_envelope("interactive", payload)
            await fs.wait_for_ack_async(first)
            event = event_callback(message_event("C_GENERAL", "U_ALICE", "hi"))
            second = fs.send(event)
            retried = fs.retry(second)
            await fs.wait_for_ack_async(retried)
            fs.disconnect()
            await fs.wait_until_async(lambda: fs.connections == 2)
            third = fs.send(event)
            await fs.wait_for_ack_async(third)
            return first, second, retried
        finally:
            await client.close()

    first, second, retried = asyncio.run(main())
    hello = received[0]
    assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == "A_APP"
    assert hello["num_connections"] == 1
    assert fs.acks[first].payload == {"response_action": "errors", "errors": {"title": "Too short"}}
    assert requests[0].type == "interactive" and requests[0].accepts_response_payload is True
    assert requests[1].type == "events_api" and requests[1].retry_attempt == 0
    assert (requests[2].retry_attempt, requests[2].retry_reason) == (1, "timeout")
    assert requests[1].payload["event_id"] == requests[2].payload["event_id"]
    assert second in fs.acks and fs.unacked() == []
    assert [c.method for c in fs.calls] == ["apps.connections.open"] * 2
    assert fs.calls[0].token == APP_TOKEN and fs.calls[0].response["url"].startswith("ws://")
    fs.wait_until(lambda: not fs.socket_connected.is_set())


def test_socket_mode_refusals(fs: FakeSlack) -> None:
    refused = api_error(fs, lambda c: c.apps_connections_open(app_token=BOT_TOKEN))
    assert refused.response["error"] == "not_allowed_token_type"
    with pytest.raises(RuntimeError):
        fs.send_envelope("events_api", event_callback(message_event("C1", "U1", "x")))
    url = run(fs, lambda c: c.apps_connections_open(app_token=APP_TOKEN))["url"]
    assert url.startswith(f"ws://127.0.0.1:{fs.port}/")


# --- requests Slack sends to the app ------------------------------------------------------------


def test_signing_matches_slack_sdk_verifier() -> None:
    verifier = SignatureVerifier(SIGNING_SECRET)
    payload = slash_command("/polder", "join mobility", user_id="U_ALICE", channel_id="C_GENERAL")
    body, headers = signed_request(payload)
    assert verifier.is_valid_request(body, headers)
    assert parse_qs(body.decode())["text"] == ["join mobility"]
    stale = sign(body, SIGNING_SECRET, int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)
    assert not verifier.is_valid_request(body, sign(body, "forged"))

    action = block_action("U_ALICE", "C_GENERAL", "1700000000.000100", "vote-1-0", "0")
    body, headers = signed_request(action, retry_num=1)
    assert verifier.is_valid_request(body, headers)
    assert json.loads(parse_qs(body.decode())["payload"][0])["actions"][0]["value"] == "0"
    assert headers["X-Slack-Retry-Num"] == "1"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"

    event = event_callback(message_event("C_GENERAL", "U_ALICE", "hi", thread_ts="1.000001"))
    body, headers = signed_request(event)
    assert json.loads(body)["event"]["thread_ts"] == "1.000001"
    assert headers["Content-Type"] == "application/json"
    assert [envelope_type(p) for p in (payload, action, event)] == [
        "slash_commands",
        "interactive",
        "events_api",
    ]


def test_click_and_response_url(fs: FakeSlack) -> None:
    ts = run(fs, lambda c: c.chat_postMessage(channel="C_GENERAL", text="Poll", blocks=BUTTONS))[
        "ts"
    ]
    payload = fs.click("U_ALICE", "C_GENERAL", ts, "vote-1-1")
    assert payload["actions"][0]["value"] == "1" and payload["actions"][0]["block_id"] == "poll-1"
    assert payload["message"]["blocks"][1]["elements"][1]["action_id"] == "vote-1-1"
    with pytest.raises(ValueError):
        fs.click("U_ALICE", "C_GENERAL", ts, "vote-9-9")

    def post(url: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200

    post(payload["response_url"], {"text": "Thanks for voting"})
    post(payload["response_url"], {"replace_original": True, "text": "Closed", "blocks": []})
    assert fs.ephemeral[0].text == "Thanks for voting" and fs.ephemeral[0].user == "U_ALICE"
    assert fs.messages["C_GENERAL"][ts].text == "Closed" and fs.messages["C_GENERAL"][ts].edits == 1

    command = fs.slash_command("/polder", "help", user_id="U_ALICE", channel_id="C_GENERAL")
    post(command["response_url"], {"response_type": "in_channel", "text": "Polder here"})
    assert fs.shown("C_GENERAL")[-1].text == "Polder here"
    assert [r.kind for r in fs.responses] == ["actions", "actions", "commands"]


# --- a real Bolt app against the fake -----------------------------------------------------------


def bolt_app(fs: FakeSlack) -> AsyncApp:
    """An AsyncApp whose client talks to the fake, answering /polder and button presses."""
    app = AsyncApp(
        client=AsyncWebClient(BOT_TOKEN, base_url=fs.base_url), signing_secret=SIGNING_SECRET
    )

    @app.command("/polder")
    async def command(ack: Any, body: dict, say: Any) -> None:
        await ack()
        await say(f"joined {body['text'].split()[-1]}")

    @app.action("vote-1-1")
    async def vote(ack: Any, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"], ts=body["message"]["ts"], text="1 vote"
        )

    @app.event("message")
    async def message(event: dict, say: Any) -> None:
        await say(text=f"echo {event['text']}", thread_ts=event.get("thread_ts") or event["ts"])

    return app


async def dispatch(app: AsyncApp, payload: dict[str, Any], **signing: Any) -> int:
    """POST `payload` to the app as Slack does (through Bolt's dispatch); the HTTP status."""
    forged = signing.pop("forged", False)
    body, headers = signed_request(payload, **signing)
    if forged:
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    request = AsyncBoltRequest(body=body.decode(), headers=headers)
    return (await app.async_dispatch(request)).status


def test_bolt_over_http(fs: FakeSlack) -> None:
    async def main() -> list[int]:
        app = bolt_app(fs)
        command = fs.slash_command("/polder", "join mobility", user_id="U_A", channel_id="C_G")
        statuses = [
            await dispatch(app, command),
            await dispatch(app, command, forged=True),
            await dispatch(app, command, timestamp=int(time.time()) - 600),
        ]
        await fs.wait_until_async(lambda: len(fs.posted()) == 1)
        ts = fs.posted()[0].response["ts"]
        await app.client.chat_update(channel="C_G", ts=ts, text="Poll", blocks=BUTTONS)
        statuses.append(await dispatch(app, fs.click("U_A", "C_G", ts, "vote-1-1")))
        await fs.wait_until_async(lambda: fs.messages["C_G"][ts].text == "1 vote")
        return statuses

    assert asyncio.run(main()) == [200, 401, 401, 200]
    assert fs.posted("C_G")[0].params["text"] == "joined mobility"
    assert fs.calls_to("auth.test")


def test_bolt_in_socket_mode(fs: FakeSlack) -> None:
    async def main() -> None:
        app = bolt_app(fs)
        handler = AsyncSocketModeHandler(app, APP_TOKEN)
        await handler.connect_async()
        try:
            await fs.wait_connected_async()
            event = event_callback(message_event("C_G", "U_A", "hello", thread_ts="1.000001"))
            envelope = fs.send(event)
            await fs.wait_for_ack_async(envelope)
            command = fs.slash_command("/polder", "join mobility", user_id="U_A", channel_id="C_G")
            await fs.wait_for_ack_async(fs.send(command))
            await fs.wait_until_async(lambda: len(fs.posted()) == 2)
        finally:
            await handler.close_async()

    asyncio.run(main())
    texts = sorted((c.params["text"], c.params.get("thread_ts")) for c in fs.posted("C_G"))
    assert texts == [("echo hello", "1.000001"), ("joined mobility", None)]
