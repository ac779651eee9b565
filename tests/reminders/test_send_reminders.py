"""Reminder digests and assignment mail, against a real SMTP server on loopback (aiosmtpd)."""

import socket
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from crm import create_app
from crm.extensions import db
from crm.models import FollowUp, User
from crm.services import follow_ups
from tests.conftest import CHEAP_HASH, make_config, sign_in


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_closed_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def mail_app(database_url, _schema, smtp):
    controller, _inbox = smtp
    app = create_app(
        make_config(
            database_url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=controller.port,
            MAIL_FROM="crm@example.org",
            BASE_URL="https://crm.example.org",
        )
    )
    yield app
    from tests.conftest import wipe

    wipe(app)


def today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _id_of(app, email):
    with app.app_context():
        return db.session.query(User.id).filter_by(email=email).scalar()


def _user(app, email, role="member", enabled=True, locale="en"):
    with app.app_context():
        user = User(
            email=email,
            name=email.split("@")[0].title(),
            role=role,
            password_hash=CHEAP_HASH,
            session_token=email,
            is_enabled=enabled,
            locale=locale,
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def _follow_up(app, assignee_id, title, due_in_days, creator_id=None):
    with app.app_context():
        creator = db.session.get(User, creator_id or assignee_id)
        return follow_ups.create(
            {
                "title": title,
                "due_on": today() + timedelta(days=due_in_days),
                "assignee_id": assignee_id,
            },
            actor=creator,
        ).id


def test_each_user_gets_one_digest_of_due_and_overdue_follow_ups(mail_app, smtp):
    _controller, inbox = smtp
    wang = _user(mail_app, "wang@example.cn")
    li = _user(mail_app, "li@example.cn", locale="zh")
    gone = _user(mail_app, "gone@example.cn")
    _follow_up(mail_app, wang, "Overdue call", -3)
    _follow_up(mail_app, wang, "Due tomorrow", 1)
    _follow_up(mail_app, wang, "Next week", 7)
    _follow_up(mail_app, li, "Due today", 0)
    _follow_up(mail_app, gone, "Nobody reads this", 0)
    with mail_app.app_context():
        db.session.get(User, gone).is_enabled = False
        db.session.commit()

    result = mail_app.test_cli_runner().invoke(args=["crm", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 reminder digests (3 follow-ups)." in result.output
    by_recipient = {m["To"]: m for m in inbox.messages}
    assert set(by_recipient) == {"wang@example.cn", "li@example.cn"}
    body = by_recipient["wang@example.cn"].get_content()
    assert "Overdue call" in body and "Due tomorrow" in body and "Next week" not in body
    assert body.index("Overdue:") < body.index("Overdue call") < body.index("Due tomorrow")
    assert "https://crm.example.org/follow-ups/mine" in body
    assert by_recipient["wang@example.cn"]["Subject"] == "2 follow-ups need your attention"


def test_a_second_run_the_same_day_sends_nothing(mail_app, smtp):
    _controller, inbox = smtp
    wang = _user(mail_app, "wang@example.cn")
    _follow_up(mail_app, wang, "Due today", 0)
    runner = mail_app.test_cli_runner()
    assert runner.invoke(args=["crm", "send-reminders"]).exit_code == 0
    second = runner.invoke(args=["crm", "send-reminders"])
    assert second.exit_code == 0 and "Sent 0 reminder digests" in second.output
    assert len(inbox.messages) == 1
    with mail_app.app_context():
        assert db.session.query(FollowUp).one().reminder_sent_at is not None


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_down_is_reported_and_nothing_is_marked(database_url, _schema):
    app = create_app(make_config(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=_closed_port()))
    try:
        wang = _user(app, "wang@example.cn")
        _follow_up(app, wang, "Due today", 0)
        result = app.test_cli_runner().invoke(args=["crm", "send-reminders"])
        assert result.exit_code == 1
        assert "could not send reminders" in result.output
        with app.app_context():
            assert db.session.query(FollowUp).one().reminder_sent_at is None
    finally:
        from tests.conftest import wipe

        wipe(app)


def test_an_assignee_is_emailed_when_a_colleague_assigns_them(mail_app, smtp):
    _controller, inbox = smtp
    _user(mail_app, "boss@example.cn", role="coordinator")
    wang = _user(mail_app, "wang@example.cn")
    client = mail_app.test_client()
    assert sign_in(client, "boss@example.cn").status_code == 302
    for title, assignee in (("Prepare the forum list", wang), ("Own task", None)):
        response = client.post(
            "/follow-ups/new",
            data={
                "version": "0",
                "title": title,
                "due_on": "2030-01-01",
                "priority": "normal",
                "assignee_id": str(assignee or _id_of(mail_app, "boss@example.cn")),
            },
        )
        assert response.status_code == 302
    assert [m["To"] for m in inbox.messages] == ["wang@example.cn"]
    assert "Prepare the forum list" in inbox.messages[0]["Subject"]
    assert "Boss assigned you a follow-up." in inbox.messages[0].get_content()
