"""A recipient on a link-local or metadata host is never contacted, even if it was stored."""

from __future__ import annotations

import logging
import smtplib
import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from alert_receivers import HttpReceiver, SmtpInbox

from syncline.alerts import channels
from syncline.alerts.notice import Notice, RunSummary
from syncline.alerts.policy import AlertLevel, EmailRecipient, SlackRecipient, WebhookRecipient


def _notice() -> Notice:
    run = RunSummary(run_id=3, status="failed", planned=1, rejected=0, query_size=1, seconds=1.0)
    return Notice(
        workspace="default", sync_id=1, sync_slug="users", destination_slug="hook",
        trigger="failedRun", before=AlertLevel.OK, after=AlertLevel.CRITICAL,
        reason="the run failed", run=run, at=datetime.now(UTC),
    )  # fmt: skip


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(httpx.Client, "__init__", refuse)
    monkeypatch.setattr(smtplib.SMTP, "__init__", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "recipient",
    [
        # Built without validation, as a policy stored before the check would read back.
        WebhookRecipient.model_construct(
            type="webhook", url="http://169.254.169.254/latest/", headers={}
        ),
        SlackRecipient.model_construct(type="slack", url="http://metadata.google.internal/x"),
        EmailRecipient.model_construct(
            type="email",
            host="fe80::1",
            port=25,
            sender="a@b.c",
            to=["x@y.z"],
            starttls=False,
            username=None,
            password=None,
        ),  # fmt: skip
    ],
    ids=["webhook", "slack", "email"],
)
def test_a_stored_recipient_on_a_refused_host_is_not_contacted(
    recipient: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="syncline.alerts"):
        assert channels.deliver(_notice(), recipient) is False
    assert any("not delivered" in r.getMessage() for r in caplog.records)
    assert any("metadata" in r.getMessage() for r in caplog.records)


def _email(host: str) -> EmailRecipient:
    return EmailRecipient.model_construct(
        type="email", host=host, port=25, sender="a@b.c", to=["x@y.z"],
        starttls=False, username=None, password=None,
    )  # fmt: skip


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "recipient",
    [
        # Stored before hosts were read as the clients read them: Unicode dots are dots.
        WebhookRecipient.model_construct(
            type="webhook", url="http://169\u3002254\u3002169\u3002254/latest", headers={}
        ),
        WebhookRecipient.model_construct(
            type="webhook", url="http://169\uff0e254\uff0e169\uff0e254/x", headers={}
        ),
        SlackRecipient.model_construct(type="slack", url="http://169\uff61254\uff61169\uff61254/x"),
        SlackRecipient.model_construct(
            type="slack", url="http://metadata\u3002google\u3002internal/"
        ),
        _email("169\u3002254\u3002169\u3002254"),
        _email("metadata\uff0egoogle\uff0einternal"),
        # Metadata services outside the link-local ranges, and GCE's short name.
        WebhookRecipient.model_construct(type="webhook", url="http://metadata/x", headers={}),
        WebhookRecipient.model_construct(type="webhook", url="http://100.100.100.200/", headers={}),
        _email("fd00:ec2::254"),
    ],
    ids=[
        "webhook-ideographic",
        "webhook-fullwidth",
        "slack-halfwidth",
        "slack-gce-name",
        "email-ideographic",
        "email-gce-name",
        "gce-short-name",
        "alibaba",
        "aws-ipv6",
    ],  # fmt: skip
)
def test_a_stored_host_is_checked_as_the_client_would_read_it(
    recipient: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="syncline.alerts"):
        assert channels.deliver(_notice(), recipient) is False
    assert any("metadata service" in r.getMessage() for r in caplog.records)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "recipient",
    [
        WebhookRecipient.model_construct(type="webhook", url="http://xn--a-/hook", headers={}),
        _email("a" * 64 + ".org"),
    ],
    ids=["webhook", "email"],
)
def test_a_stored_host_the_client_cannot_read_is_not_contacted(
    recipient: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="syncline.alerts"):
        assert channels.deliver(_notice(), recipient) is False
    messages = [r.getMessage() for r in caplog.records]
    assert any("not delivered" in m and "host" in m and "valid" in m for m in messages)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, address: str) -> list[str]:
    """Make every name resolve to ``address``; returns the names looked up."""
    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "fd00:ec2::254"])
@pytest.mark.parametrize(
    "recipient",
    [
        WebhookRecipient.model_construct(type="webhook", url="http://hooks.test/x", headers={}),
        SlackRecipient.model_construct(type="slack", url="https://chat.test/hook"),
        _email("mail.test"),
    ],
    ids=["webhook", "slack", "email"],
)
def test_a_name_that_resolves_to_a_refused_address_is_not_contacted(
    recipient: Any, address: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked = _resolving_to(monkeypatch, address)

    with caplog.at_level(logging.WARNING, logger="syncline.alerts"):
        assert channels.deliver(_notice(), recipient) is False

    assert asked, "the name was not looked up"
    messages = [r.getMessage() for r in caplog.records]
    assert any("not delivered" in m and f"resolves to {address}" in m for m in messages), messages


def test_a_name_that_resolves_to_an_allowed_address_is_delivered(http: HttpReceiver) -> None:
    url = http.url().replace("127.0.0.1", "localhost")
    recipient = WebhookRecipient.model_construct(type="webhook", url=url, headers={})

    assert channels.deliver(_notice(), recipient) is True
    assert len(http.at("/hook")) == 1


def _rebinding(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Make ``name`` resolve to 127.0.0.1 once, then to the metadata address; returns
    the addresses handed out. Other hosts resolve as usual."""
    real = socket.getaddrinfo
    answers = ["127.0.0.1", "169.254.169.254"]
    handed: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host != name:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(handed), 1)]
        handed.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return handed


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_a_webhook_goes_to_the_address_checked_even_if_the_name_rebinds(
    kind: str, http: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _rebinding(monkeypatch, "hooks.rebind.test")
    url = http.url().replace("127.0.0.1", "hooks.rebind.test")
    recipient: Any = (
        WebhookRecipient.model_construct(type="webhook", url=url, headers={})
        if kind == "webhook"
        else SlackRecipient.model_construct(type="slack", url=url)
    )

    assert channels.deliver(_notice(), recipient) is True

    assert handed == ["127.0.0.1"], "the client looked the name up again"
    [posted] = [p for p in http.posted if p.path == "/hook"]
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    assert posted.headers["Host"] == f"hooks.rebind.test:{port}"


def test_an_email_goes_to_the_address_checked_even_if_the_name_rebinds(
    inbox: SmtpInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _rebinding(monkeypatch, "mail.rebind.test")
    recipient = EmailRecipient.model_construct(
        type="email", host="mail.rebind.test", port=inbox.port, sender="a@b.c",
        to=["x@y.z"], starttls=False, username=None, password=None,
    )  # fmt: skip

    assert channels.deliver(_notice(), recipient) is True

    assert handed == ["127.0.0.1"], "the client looked the name up again"
    assert len(inbox.messages) == 1


def test_a_name_that_does_not_resolve_is_reported_unsent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    recipient = WebhookRecipient.model_construct(
        type="webhook", url="http://nowhere.test/x", headers={}
    )

    with caplog.at_level(logging.WARNING, logger="syncline.alerts"):
        assert channels.deliver(_notice(), recipient) is False
    assert any("not delivered" in r.getMessage() for r in caplog.records)


def _certificate(tmp_path: Any, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_an_https_webhook_on_the_checked_address_still_verifies_the_name(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    cert, key = _certificate(tmp_path, "hooks.rebind.test")
    receiver = HttpReceiver()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = receiver._server
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        handed = _rebinding(monkeypatch, "hooks.rebind.test")
        url = receiver.url().replace("http://127.0.0.1", "https://hooks.rebind.test")
        recipient = SlackRecipient.model_construct(type="slack", url=url)

        assert channels.deliver(_notice(), recipient) is True
        assert handed == ["127.0.0.1"]
        assert len(receiver.at("/hook")) == 1

        # The same server under a name its certificate does not hold is refused.
        _rebinding(monkeypatch, "other.rebind.test")
        wrong = url.replace("hooks.rebind.test", "other.rebind.test")
        assert (
            channels.deliver(_notice(), SlackRecipient.model_construct(type="slack", url=wrong))
            is False
        )
        assert len(receiver.at("/hook")) == 1
    finally:
        receiver.stop()
