"""E-mail: composed in the recipient's language, written to the outbox table, delivered by a job.

Delivery goes through SMTP (aiosmtplib) when a host is configured, and is written as an .eml file
under the mail directory otherwise. A mail row is claimed before it is sent, so two workers never send
the same mail, and a worker that dies mid-send leaves the claim to expire and the sweep to retry.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosmtplib
import jinja2
from tortoise.expressions import Q

from consult import i18n
from consult.models import OutboxMail
from consult.settings import Settings

log = logging.getLogger("consult.mail")

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"
CLAIM_SECONDS = 300


@lru_cache(maxsize=1)
def _mail_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=False,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    return env


def send_mail_job_id(mail_id: int) -> str:
    return f"send_mail:{mail_id}"


def render_mail(template: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of templates/mail/<template>.txt; its first line is the subject."""
    token = i18n.set_language(language)
    try:
        text = _mail_env().get_template(f"{template}.txt").render(**context)
    finally:
        i18n.reset_language(token)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


async def queue_mail(to_address: str, template: str, language: str, context: dict[str, Any]) -> OutboxMail:
    """Store a mail in the outbox (inside the caller's transaction). Enqueue delivery after commit."""
    subject, body = render_mail(template, language, context)
    return await OutboxMail.create(to_address=to_address, subject=subject, body_text=body, language=language)


async def claim(mail_id: int) -> OutboxMail | None:
    """Take a mail for sending unless it was sent or another worker holds a fresh claim."""
    now = datetime.now(timezone.utc)
    stale = now - timedelta(seconds=CLAIM_SECONDS)
    taken = await OutboxMail.filter(
        Q(id=mail_id), Q(sent_at__isnull=True), Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    ).update(claimed_at=now)
    if not taken:
        return None
    return await OutboxMail.get(id=mail_id)


def build_message(settings: Settings, mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}", domain="consult")
    message.set_content(mail.body_text)
    message["Content-Language"] = mail.language  # after set_content, which drops Content-* headers
    return message


async def deliver(settings: Settings, mail: OutboxMail) -> None:
    message = build_message(settings, mail)
    if settings.smtp_host:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=30,
        )
        return
    folder = settings.mail_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{mail.created_at:%Y%m%d-%H%M%S}-{mail.id:012d}.eml"  # padded: files sort in sending order
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(message))
    os.replace(tmp, path)  # a reader never sees half a file


async def mark_sent(mail: OutboxMail) -> None:
    # The body may hold a live sign-in or reset link: once delivered, it is not kept.
    await OutboxMail.filter(id=mail.id).update(
        sent_at=datetime.now(timezone.utc), attempts=mail.attempts + 1, last_error=None, body_text=""
    )


async def mark_failed(mail: OutboxMail, error: str) -> None:
    # Releasing the claim lets the retry (or the sweep) take it again.
    await OutboxMail.filter(id=mail.id).update(claimed_at=None, attempts=mail.attempts + 1, last_error=error[:2000])


async def unsent_ids(older_than_seconds: int, limit: int = 500) -> list[int]:
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_seconds)
    stale = datetime.now(timezone.utc) - timedelta(seconds=CLAIM_SECONDS)
    return await OutboxMail.filter(
        Q(sent_at__isnull=True), Q(created_at__lt=cutoff), Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    ).order_by("id").limit(limit).values_list("id", flat=True)
