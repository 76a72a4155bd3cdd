"""/mydata and /forget on each channel: the file arrives in the member's private chat (a
Telegram document, an upload in the Slack direct message, a file in the console's folder)
and holds their messages, not anyone else's; /forget is answered with its buttons."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.console import ConsoleChannel
from adapters.ratelimit import Limiter, Window
from adapters.telegram import TelegramChannel
from bot.engine import Engine
from storage.database import transaction
from storage.models import Identity, Member
from tests.adapters import test_slack as on_slack
from tests.adapters import test_telegram as on_telegram
from tests.adapters.fake_slack import FakeSlack, event_callback, message_event
from tests.adapters.fake_telegram import FakeTelegram, callback, group_message, private_message

GROUP, CURATOR, MEMBER = on_telegram.GROUP, on_telegram.CURATOR, on_telegram.MEMBER
CHANNEL, SLACK_CURATOR, SLACK_MEMBER = on_slack.CHANNEL, on_slack.CURATOR, on_slack.MEMBER
feed, texts = on_telegram.feed, on_telegram.texts


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(can_read_all_group_messages=True) as server:
        yield server


@pytest.fixture
def telegram(database, settings, tg: FakeTelegram) -> Iterator[TelegramChannel]:
    unpaced = Limiter(Window(10_000, 1), None, Window(10_000, 1))
    configured = on_telegram.telegram_settings(settings, tg)
    made = on_telegram.started(configured, database, poll_timeout=1, limiter=unpaced)
    yield made
    on_telegram.run(made, made.stop())
    getattr(made, on_telegram.LOOP).close()


@pytest.fixture
def fs() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def slack(database, settings, fs: FakeSlack) -> Iterator[on_slack.Harness]:
    harness = on_slack.Harness(database, settings, fs, "http")
    yield harness
    harness.close()


MINE = ["The night bus should stop at the hospital.", "And run until two at the weekend."]
THEIRS = "Trams are quieter than buses, says the curator."


def test_mydata_on_telegram_is_a_json_document_in_the_private_chat(
    telegram: TelegramChannel, tg: FakeTelegram, database
) -> None:
    on_telegram.make_curator(database)
    feed(telegram, group_message(GROUP, CURATOR, "/link mobility"))
    feed(telegram, private_message(MEMBER, "/start"))
    feed(telegram, *(group_message(GROUP, MEMBER, text) for text in MINE))
    feed(telegram, group_message(GROUP, CURATOR, THEIRS))

    feed(telegram, private_message(MEMBER, "/mydata"))

    documents = [s for s in tg.shown(MEMBER) if s.document is not None]
    assert len(documents) == 1
    (sent,) = documents
    assert sent.file_name is not None and sent.file_name.endswith(".json")
    assert sent.text == "Your data in Polder, as JSON."
    data = json.loads(sent.document.decode("utf-8"))
    assert [m["text"] for m in data["messages"]] == MINE
    assert THEIRS not in sent.document.decode("utf-8")
    assert {a["user_id"] for a in data["accounts"]} == {str(MEMBER)}
    assert not [s for s in tg.shown(GROUP) if s.document is not None]  # never in the group
    assert any("Messages: 2" in t for t in texts(tg, MEMBER))


def test_forget_on_telegram_with_the_yes_button(
    telegram: TelegramChannel, tg: FakeTelegram, database
) -> None:
    feed(telegram, private_message(MEMBER, "/start"))
    feed(telegram, private_message(MEMBER, "/cancel"))  # the first-contact questions
    feed(telegram, private_message(MEMBER, "/forget"))
    (question,) = [s for s in tg.shown(MEMBER) if (s.text or "").startswith("Forget you now?")]
    assert [row[0][1] for row in question.buttons] == ["answer:yes", "answer:no"]

    feed(telegram, callback(MEMBER, MEMBER, question.message_id, "answer:yes"))

    assert "Polder has forgotten you" in texts(tg, MEMBER)[-1]
    with transaction(database) as session:
        assert session.exec(select(Identity)).all() == []
        (tombstone,) = session.exec(select(Member)).all()
        assert tombstone.erased_at is not None and tombstone.display_name == ""


def test_mydata_on_slack_is_uploaded_to_the_direct_message(
    slack: on_slack.Harness, fs: FakeSlack, database
) -> None:
    on_slack.onboarded_curator(database)
    slack.send(on_slack.command("link mobility", SLACK_CURATOR))
    for text in MINE:
        slack.send(event_callback(message_event(CHANNEL, SLACK_MEMBER, text)))
    slack.send(event_callback(message_event(CHANNEL, SLACK_CURATOR, THEIRS)))

    answer = slack.send(on_slack.command("mydata"))  # in the channel: the answer only they see

    assert "Messages: 2" in on_slack.answer_text(answer)
    (upload,) = fs.uploads
    assert upload.channel == fs.im_channel(SLACK_MEMBER)
    assert upload.filename.endswith(".json")
    assert upload.data is not None
    data = json.loads(upload.data.decode("utf-8"))
    assert [m["text"] for m in data["messages"]] == MINE
    assert THEIRS not in upload.data.decode("utf-8")
    assert not [c for c in fs.posted(CHANNEL) if "Messages: 2" in json.dumps(c.params)]


def test_mydata_in_the_console_is_a_file_in_the_files_folder(
    database, settings, tmp_path: Path
) -> None:
    folder = tmp_path / "member-files"
    engine = Engine(database, settings.model_copy(update={"files_folder": folder}))
    out = io.StringIO()
    console = ConsoleChannel(engine, database, "ann", out=out)
    console.say("/cancel")
    console.say("/mydata")

    (written,) = folder.iterdir()
    assert json.loads(written.read_text(encoding="utf-8"))["accounts"][0]["user_id"] == "ann"
    assert f"bot> [{written.resolve()}]" in out.getvalue()
    assert "bot> Your data in Polder, as JSON." in out.getvalue()
