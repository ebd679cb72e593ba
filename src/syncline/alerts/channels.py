"""Deliver a notice to one recipient: a JSON webhook, a Slack-style webhook, or an e-mail.

Every delivery has a short timeout, and a failed one, whatever went wrong, is logged
(recipient type and host, never the URL's path, headers or the password) and otherwise
ignored: an alert that cannot be sent must not fail or stall the run it reports on, nor
keep the notice from the other recipients.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx

from syncline.alerts.notice import Notice
from syncline.alerts.policy import (
    EmailRecipient,
    SlackRecipient,
    WebhookRecipient,
    address_problem,
    smtp_host,
)
from syncline.security.hosts import url_host, url_port, vetted_address

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
"""How long one delivery may take to connect, send and be answered."""

AnyRecipient = WebhookRecipient | SlackRecipient | EmailRecipient


def deliver(notice: Notice, recipient: AnyRecipient) -> bool:
    """Send ``notice`` to ``recipient``; True when it was accepted, False (logged) if not.

    A link-local or metadata host is refused again here, unsent: a policy stored
    before such hosts were refused must not reach them either. The client connects to
    the address checked, never to the name again.
    """
    try:
        address = _vetted(recipient)
        if isinstance(recipient, EmailRecipient):
            _send_email(notice, recipient, address)
        else:
            _post(notice, recipient, address)
    except Exception as exc:  # noqa: BLE001 - one recipient's failure must not stop the rest
        logger.warning(
            "alert for sync %s (%s) not delivered to the %s: %s",
            notice.sync_slug,
            notice.trigger,
            describe_recipient(recipient),
            _describe(exc),
            extra={"sync_id": notice.sync_id, "run_id": notice.run.run_id},
        )
        return False

    logger.info(
        "alert for sync %s (%s, %s) delivered to the %s",
        notice.sync_slug,
        notice.trigger,
        notice.after.value,
        describe_recipient(recipient),
        extra={"sync_id": notice.sync_id, "run_id": notice.run.run_id},
    )
    return True


def describe_recipient(recipient: AnyRecipient) -> str:
    """``email recipient at smtp.internal:587``: its type and host, never a credential."""
    return f"{recipient.type} recipient at {_where(recipient)}"


def _vetted(recipient: AnyRecipient) -> str:
    """The address to connect to for the recipient's host, read as its client reads it."""
    try:
        if isinstance(recipient, EmailRecipient):
            host, port = smtp_host(recipient.host), recipient.port
        else:
            host, port = url_host(recipient.url), url_port(recipient.url)
        return vetted_address(host, port)
    except ValueError as exc:
        raise _Unsent(str(exc)) from None


def _post(notice: Notice, recipient: WebhookRecipient | SlackRecipient, address: str) -> None:
    if isinstance(recipient, SlackRecipient):
        body = slack_message(notice)
        headers = httpx.Headers()
    else:
        body = notice.payload()
        headers = httpx.Headers(recipient.headers)

    # The request goes to the vetted address; the server still sees its own name, in
    # the Host header and, over TLS, in the handshake (which checks its certificate).
    url = httpx.URL(recipient.url)
    headers.setdefault("Host", url.netloc.decode("ascii"))
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        response = client.post(
            url.copy_with(host=address), json=body, headers=headers, extensions=extensions
        )
    if not response.is_success:
        raise _Refused(f"answered HTTP {response.status_code}")


def slack_message(notice: Notice) -> dict[str, object]:
    """A Slack incoming-webhook body: the text, and the same as blocks for richer clients."""
    lines = notice.text.splitlines()
    return {
        "text": f"{notice.title}\n{notice.text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}},
            {"type": "section", "text": {"type": "plain_text", "text": "\n".join(lines[:2])}},
            {"type": "context", "elements": [{"type": "plain_text", "text": lines[2]}]},
        ],
    }


def _send_email(notice: Notice, recipient: EmailRecipient, address: str) -> None:
    for written in (recipient.sender, *recipient.to):
        problem = address_problem(written)
        if problem is not None:  # saved before addresses were checked
            raise _Unsent(f"{problem}; save the alert policy again with bare addresses")
    message = EmailMessage()
    message["Subject"] = notice.title
    message["From"] = recipient.sender
    message["To"] = ", ".join(recipient.to)
    message.set_content(notice.text)

    with _PinnedSMTP(recipient.host, address, recipient.port) as smtp:
        if recipient.starttls:
            try:
                smtp.starttls(context=ssl.create_default_context())
            except smtplib.SMTPNotSupportedError:
                raise _Unsupported(
                    "the server does not offer STARTTLS; use a server or port that does "
                    "(often 587), or set starttls: false if the password may go in clear"
                ) from None
        if recipient.username is not None and recipient.password is not None:
            try:
                smtp.login(recipient.username, recipient.password.get_secret_value())
            except smtplib.SMTPNotSupportedError:
                raise _Unsupported(_NO_AUTH[recipient.starttls]) from None
        smtp.send_message(message)


_NO_AUTH = {
    False: "the server offers no SMTP AUTH on a plain connection; SMTP AUTH needs "
    "starttls: true (most servers offer it only after STARTTLS), or leave out username "
    "and password",
    True: "the server offers no SMTP AUTH even after STARTTLS; leave out username and "
    "password, or use a server that takes them",
}


class _PinnedSMTP(smtplib.SMTP):
    """An SMTP client that connects to a vetted ``address`` while it speaks to ``host``
    (the name STARTTLS checks the server's certificate against)."""

    def __init__(self, host: str, address: str, port: int) -> None:
        self._address = address
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connected: socket.socket = super()._get_socket(  # type: ignore[misc]
            self._address, port, timeout
        )
        return connected


class _Refused(httpx.HTTPError):
    """The receiving server answered, but not with a 2xx status."""


class _Unsent(OSError):
    """The recipient's host is one alerts never go to; nothing was sent."""


class _Unsupported(smtplib.SMTPException):
    """The SMTP server lacks what the recipient's settings need (STARTTLS, AUTH)."""


def _where(recipient: AnyRecipient) -> str:
    if isinstance(recipient, EmailRecipient):
        return f"{recipient.host}:{recipient.port}"
    parts = urlsplit(recipient.url)
    # Only scheme, host and port: a Slack webhook's path is its credential.
    try:
        port = parts.port
    except ValueError:  # a stored url with a port out of range: logged, never sent
        port = None
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}"


def _describe(exc: BaseException) -> str:
    if _timed_out(exc):
        return (
            f"timed out: the server did not answer within {TIMEOUT_SECONDS:g} s; check "
            "that it is up and not overloaded"
        )
    if isinstance(exc, _Refused | _Unsent | _Unsupported | smtplib.SMTPResponseException):
        return str(exc)
    if isinstance(exc, httpx.HTTPError) or not str(exc):
        # Other HTTP errors may quote the request URL, whose path can be a credential.
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _timed_out(exc: BaseException) -> bool:
    """True for a timeout, also when smtplib reports it as the server disconnecting."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | httpx.TimeoutException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
