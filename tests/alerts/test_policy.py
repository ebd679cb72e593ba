"""Alert policies: validation, a sync's override of its destination, who hears what."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.alerts.policy import AlertLevel, AlertPolicy, EmailRecipient, WebhookRecipient
from syncline.errors import ValidationError

HOOK = {"type": "webhook", "url": "http://127.0.0.1:9/a"}
OTHER_HOOK = {"type": "webhook", "url": "http://127.0.0.1:9/b"}


def problems(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        AlertPolicy.parse(raw)
    return [(p.location, p.message) for p in caught.value.problems]


def test_every_problem_is_reported_at_once_with_the_key_it_concerns() -> None:
    found = problems(
        {
            "triggers": {"slowRun": {"after": "soon"}, "rowCountDrop": {"share": 1.5}},
            "recipients": [
                {"type": "email", "host": "127.0.0.1", "from": "a@b.c", "to": "nobody"},
                {"type": "pager"},
                {"type": "slack", "url": "127.0.0.1/hook"},
            ],
        }
    )

    assert [location for location, _ in found] == [
        "alerts.triggers.slowRun.after",
        "alerts.triggers.rowCountDrop.share",
        "alerts.recipients.0.to",
        "alerts.recipients.1",
        "alerts.recipients.2.url",
    ]
    assert "'soon' is not a duration" in found[0][1]
    assert "webhook, slack or email" in found[3][1]


def test_the_failed_run_and_rejected_row_triggers_cannot_be_turned_off() -> None:
    found = problems({"triggers": {"rejectedRows": False}})
    assert found == [
        (
            "alerts.triggers.rejectedRows",
            "rejected rows are always watched; raise the threshold instead",
        )
    ]
    assert problems({"triggers": {"failedRun": False}})[0][0] == "alerts.triggers.failedRun"


def test_an_email_login_needs_both_its_halves() -> None:
    raw = {"type": "email", "host": "h", "from": "a@b.c", "to": ["x@y.z"], "username": "u"}
    assert "both username and password" in problems({"recipients": [raw]})[0][1]


def test_a_blank_recipient_field_is_named_with_what_to_give() -> None:
    found = problems(
        {
            "recipients": [
                {"type": "email", "host": " ", "port": "smtp", "from": "", "to": []},
                {"type": "webhook", "url": ""},
            ]
        }
    )

    assert found == [
        ("alerts.recipients.0.host", "give the SMTP server's host name, e.g. smtp.example.org"),
        ("alerts.recipients.0.port",
         "'smtp' is not a port; give a whole number from 1 to 65535, e.g. 25 or 587"),
        ("alerts.recipients.0.from",
         "give the address alerts are sent from, e.g. syncline@example.org"),
        ("alerts.recipients.0.to",
         "give at least one address to send alerts to, e.g. oncall@example.org"),
        ("alerts.recipients.1.url",
         "give the URL alerts are posted to, starting with http:// or https://"),
    ]  # fmt: skip


def test_an_email_port_is_read_from_text_or_a_whole_number() -> None:
    for port in ("587", 587, 587.0):
        recipient = {"type": "email", "host": "127.0.0.1", "port": port, "from": "a@b.c",
                     "to": "x@y.z"}  # fmt: skip
        policy = AlertPolicy.parse({"recipients": [recipient]})
        assert isinstance(policy.recipients, list)
        assert policy.recipients[0].model_dump()["port"] == 587


def test_a_sync_overrides_its_destination_trigger_by_trigger() -> None:
    destination = AlertPolicy.parse(
        {
            "triggers": {"slowRun": {"after": 60}, "rowCountDrop": {"share": 0.5}},
            "recipients": [HOOK],
        }
    )
    sync = AlertPolicy.parse({"triggers": {"slowRun": {"after": "1h"}, "rowCountDrop": False}})

    merged = sync.over(destination)

    assert merged.triggers.slow_run is not None
    assert merged.triggers.slow_run.after == 3600
    assert merged.triggers.row_count_drop is None
    assert merged.recipients == destination.recipients


def test_a_sync_that_names_recipients_replaces_its_destination_s() -> None:
    destination = AlertPolicy.parse({"triggers": {"slowRun": {"after": 60}}, "recipients": [HOOK]})
    sync = AlertPolicy.parse({"recipients": [OTHER_HOOK]})

    merged = sync.over(destination)

    assert [r.url for r in merged.recipients or [] if isinstance(r, WebhookRecipient)] == [
        OTHER_HOOK["url"]
    ]
    assert merged.triggers.slow_run is not None
    assert merged.triggers.slow_run.after == 60


@pytest.mark.parametrize(
    ("subscribed", "before", "after", "told"),
    [
        ("warning", "ok", "warning", True),
        ("warning", "warning", "ok", True),
        ("critical", "ok", "warning", False),
        ("critical", "warning", "ok", False),
        ("critical", "ok", "critical", True),
        ("critical", "critical", "warning", True),
        ("critical", "critical", "ok", True),
    ],
)
def test_a_recipient_hears_of_changes_that_touch_its_level(
    subscribed: str, before: str, after: str, told: bool
) -> None:
    recipient = WebhookRecipient.model_validate({**HOOK, "level": subscribed})

    assert recipient.wants(AlertLevel(before), AlertLevel(after)) is told


def test_dump_gives_back_what_was_written_with_the_password_in_clear() -> None:
    raw = {
        "triggers": {"slowRun": {"after": "90s"}},
        "recipients": [
            {
                "type": "email",
                "host": "127.0.0.1",
                "from": "syncline@example.org",
                "to": "oncall@example.org",
                "username": "syncline",
                "password": "hunter2",
            }
        ],
    }
    policy = AlertPolicy.parse(raw)

    assert policy.dump() == {
        "triggers": {"slowRun": {"after": 90.0}},
        "recipients": [{**raw["recipients"][0], "to": ["oncall@example.org"]}],
    }
    recipient = policy.recipients[0] if policy.recipients else None
    assert isinstance(recipient, EmailRecipient)
    assert "hunter2" not in repr(recipient)


@pytest.mark.parametrize(
    "recipient",
    [
        {"type": "webhook", "url": "http://169.254.169.254/latest/meta-data/"},
        {"type": "slack", "url": "http://[fe80::1]/hook"},
        {"type": "webhook", "url": "http://metadata.google.internal/computeMetadata/v1/"},
        {"type": "webhook", "url": "http://2852039166/"},  # 169.254.169.254 as one number
        {"type": "slack", "url": "http://[::ffff:169.254.169.254]/"},
        {"type": "email", "host": "169.254.10.1", "from": "a@b.c", "to": "x@example.org"},
        {"type": "email", "host": "Metadata.Google.Internal.", "from": "a@b.c", "to": "x@y.z"},
        {"type": "webhook", "url": "http://metadata/computeMetadata/v1/"},  # GCE's short name
        {"type": "webhook", "url": "http://100.100.100.200/latest/meta-data/"},  # Alibaba
        {"type": "slack", "url": "http://[fd00:ec2::254]/"},  # AWS over IPv6
        {"type": "email", "host": "metadata", "from": "a@b.c", "to": "x@y.z"},
        {"type": "email", "host": "100.100.100.200", "from": "a@b.c", "to": "x@y.z"},
    ],
)
def test_link_local_and_metadata_hosts_are_refused(recipient: dict[str, Any]) -> None:
    found = problems({"recipients": [recipient]})

    assert len(found) == 1
    location, message = found[0]
    assert location == f"alerts.recipients.0.{'host' if 'host' in recipient else 'url'}"
    assert "metadata service" in message
    assert not message.startswith("Value error")


UNICODE_DOT_RECIPIENTS = [
    # Ideographic (U+3002), full-width (U+FF0E) and half-width ideographic (U+FF61) dots,
    # which the clients' IDNA mapping turns into ASCII dots before they connect.
    {"type": "webhook", "url": "http://169\u3002254\u3002169\u3002254/latest"},
    {"type": "webhook", "url": "http://169\uff0e254\uff0e169\uff0e254/x"},
    {"type": "slack", "url": "http://169\uff61254\uff61169\uff61254/x"},
    {"type": "webhook", "url": "http://metadata\u3002google\u3002internal/"},
    {"type": "email", "host": "169\u3002254\u3002169\u3002254", "from": "a@b.c", "to": "x@y.z"},
    {"type": "email", "host": "metadata\uff0egoogle\uff0einternal", "from": "a@b.c", "to": "x@y.z"},
]
"""Refused hosts written with Unicode dots: each reaches a metadata service when sent."""


@pytest.mark.parametrize("recipient", UNICODE_DOT_RECIPIENTS)
def test_hosts_written_with_unicode_dots_are_refused_as_the_clients_read_them(
    recipient: dict[str, Any],
) -> None:
    found = problems({"recipients": [recipient]})

    assert len(found) == 1
    location, message = found[0]
    assert location == f"alerts.recipients.0.{'host' if 'host' in recipient else 'url'}"
    assert "metadata service" in message
    assert "169.254.169.254" in message or "metadata.google.internal" in message


@pytest.mark.parametrize(
    ("recipient", "words"),
    [
        ({"type": "webhook", "url": "http://xn--a-/hook"}, "the url's host is not valid"),
        (
            {"type": "email", "host": "a" * 64 + ".org", "from": "a@b.c", "to": "x@y.z"},
            "not a valid",
        ),
    ],
)
def test_a_host_the_client_cannot_read_is_refused(recipient: dict[str, Any], words: str) -> None:
    found = problems({"recipients": [recipient]})

    assert len(found) == 1
    assert words in found[0][1]


def test_an_allowed_host_is_compared_as_the_client_reads_it() -> None:
    policy = AlertPolicy.parse(
        {"recipients": [{"type": "slack", "url": "https://hooks\u3002example\u3002org/T0"}]},
        allowed_hosts=("hooks.example.org",),
    )
    assert len(policy.recipients or []) == 1


def test_loopback_and_private_hosts_stay_allowed() -> None:
    policy = AlertPolicy.parse(
        {
            "recipients": [
                {"type": "webhook", "url": "http://127.0.0.1:9/a"},
                {"type": "slack", "url": "http://10.0.0.7/hook"},
                {"type": "email", "host": "smtp.internal", "from": "a@b.c", "to": "x@y.z"},
            ]
        }
    )
    assert len(policy.recipients or []) == 3


def test_a_refused_value_is_echoed_unless_it_is_or_holds_a_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        AlertPolicy.parse(
            {
                "triggers": {"rowCountDrop": {"share": 7}},
                "recipients": [
                    {"type": "email", "host": "smtp.internal", "port": 0, "from": "a@b.c",
                     "to": "x@y.z", "username": "u", "password": 12},
                    {"type": "slack", "url": "ftp://hooks.example.org/T0/secret-path"},
                ],
            }
        )  # fmt: skip
    values = {p.location: p.value for p in caught.value.problems}

    assert values["alerts.triggers.rowCountDrop.share"] == 7
    assert values["alerts.recipients.0.port"] == 0
    assert values["alerts.recipients.0.password"] is None
    assert values["alerts.recipients.1.url"] is None


def test_with_allowed_hosts_a_recipient_must_name_one_of_them() -> None:
    allowed = ("hooks.example.org", "smtp.internal", "169.254.169.254")
    policy = AlertPolicy.parse(
        {
            "recipients": [
                {"type": "slack", "url": "https://Hooks.Example.org/T0/B0"},
                {"type": "email", "host": "smtp.internal", "from": "a@b.c", "to": "x@y.z"},
            ]
        },
        allowed_hosts=allowed,
    )
    assert len(policy.recipients or []) == 2

    with pytest.raises(ValidationError) as caught:
        AlertPolicy.parse(
            {
                "recipients": [
                    {"type": "webhook", "url": "http://127.0.0.1:9/a"},
                    {"type": "email", "host": "smtp.other", "from": "a@b.c", "to": "x@y.z"},
                    {"type": "webhook", "url": "http://169.254.169.254/"},
                ]
            },
            allowed_hosts=allowed,
        )
    messages = {p.location: p.message for p in caught.value.problems}
    assert (
        "127.0.0.1 is not among the hosts alerts may go to" in messages["alerts.recipients.0.url"]
    )
    assert "smtp.other is not among" in messages["alerts.recipients.1.host"]
    assert "link-local" in messages["alerts.recipients.2.url"], "listed, still refused"


def test_the_allowed_hosts_setting_is_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.settings import load_settings

    monkeypatch.setenv("SYNCLINE_ALERT_ALLOWED_HOSTS", " Hooks.Example.org, smtp.internal ,")
    assert load_settings().alert_allowed_hosts == ("hooks.example.org", "smtp.internal")

    monkeypatch.delenv("SYNCLINE_ALERT_ALLOWED_HOSTS")
    assert load_settings().alert_allowed_hosts == ()


@pytest.mark.parametrize(
    "address",
    [
        "evil@example.org\r\nBcc: z@example.org",
        "Evil <evil@example.org>",
        "oncall@example.org, other@example.org",
        '"oncall"@example.org',
        "a@b@example.org",
        "oncall@example.org\n",
        "oncall@",
    ],
)
def test_only_bare_email_addresses_are_taken(address: str) -> None:
    for where, recipient in [
        ("to", {"to": ["ok@example.org", address]}),
        ("from", {"from": address}),
    ]:
        raw = {"type": "email", "host": "127.0.0.1", "from": "a@b.c", "to": ["x@y.z"], **recipient}
        [(location, message)] = problems({"recipients": [raw]})
        assert location == f"alerts.recipients.0.{where}"
        assert repr(address) in message
        assert "oncall@example.org" in message, "the message shows what to write"


def test_a_level_is_refused_in_words_and_an_empty_to_is_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        AlertPolicy.parse(
            {
                "triggers": {"slowRun": {"after": "1m", "level": "fatal"}},
                "recipients": [{"type": "email", "host": "h", "from": "a@b.c", "to": []}],
            }
        )
    found = {p.location: (p.message, p.value) for p in caught.value.problems}

    assert found["alerts.triggers.slowRun.level"][0] == "expected warning or critical, not 'fatal'"
    assert found["alerts.recipients.0.to"][1] == []
