"""Sending mail over SMTP. Callers pass the settings; nothing here reads the app config."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

log = logging.getLogger(__name__)


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class Settings:
    server: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            server=config["MAIL_SERVER"],
            port=int(config["MAIL_PORT"]),
            sender=config["MAIL_FROM"],
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            use_tls=bool(config.get("MAIL_USE_TLS")),
        )


def message(settings: Settings, *, to: Sequence[str], subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(("RBC Stakeholder Tracker", settings.sender))
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.sender.partition("@")[2] or None)
    msg.set_content(body, charset="utf-8")
    return msg


def send_all(settings: Settings, messages: Sequence[EmailMessage]) -> None:
    """Hand every message to the server over one connection; raises MailError on failure."""
    if not messages:
        return
    try:
        with smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout) as smtp:
            if settings.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            for msg in messages:
                smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as err:
        raise MailError(f"{settings.server}:{settings.port}: {err}") from err


def send(settings: Settings, *, to: Sequence[str], subject: str, body: str) -> None:
    send_all(settings, [message(settings, to=to, subject=subject, body=body)])
