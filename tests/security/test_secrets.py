"""Secrets at rest: the key and its file, encryption of secret fields, and redaction."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from syncline.connectors import registry
from syncline.connectors.config import ConnectorConfig
from syncline.errors import ConfigError
from syncline.security.secrets import (
    KEY_FILE_NAME,
    SecretBox,
    keep_secrets,
    load_key,
    redacted,
    secret_fields,
)
from syncline.settings import Settings


def test_a_key_file_is_made_on_first_start_readable_by_its_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = load_key(Settings(home=home))

    path = home / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(Settings(home=home)) == key, "the second start reads the same key"
    Fernet(key)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_key(Settings(home=tmp_path))
    path = tmp_path / KEY_FILE_NAME
    os.chmod(path, 0o644)

    with pytest.raises(ConfigError, match="readable by others.*chmod 600") as caught:
        load_key(Settings(home=tmp_path))
    assert caught.value.code == "SECRET_KEY_FILE_OPEN"


def test_the_key_setting_wins_over_the_file(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_key(Settings(home=tmp_path, secret_key=key.decode())) == key
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_a_malformed_key_setting_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SYNCLINE_SECRET_KEY is not a Fernet key.*generate_key"):
        load_key(Settings(home=tmp_path, secret_key="not-a-key"))


def test_secret_fields_are_encrypted_and_revealed_again() -> None:
    box = SecretBox(Fernet.generate_key())
    plain = {"host": "127.0.0.1", "pass_phrase": "hunter2", "nested": {"api_key": "k-123"}}

    stored = box.seal(plain, {"pass_phrase"})

    assert stored["host"] == "127.0.0.1"
    assert "hunter2" not in repr(stored)
    assert "k-123" not in repr(stored), "keys named like credentials are secret at any depth"
    assert box.reveal(stored) == plain
    assert box.seal(stored, {"pass_phrase"}) == stored, "sealing twice changes nothing"


def test_a_redacted_view_omits_secret_fields_entirely() -> None:
    box = SecretBox(Fernet.generate_key())
    stored = box.seal({"host": "h", "password": "p", "options": {"token": "t", "x": 1}}, ())

    assert redacted(stored) == {"host": "h", "options": {"x": 1}}


def test_a_url_with_secret_query_values_is_encrypted_and_shown_masked() -> None:
    box = SecretBox(Fernet.generate_key())
    plain = {"url": "https://h.example/rows?token=tok-991&sig=abc", "other": "x"}

    stored = box.seal(plain, (), url_fields=("url",))

    assert "tok-991" not in repr(stored)
    assert redacted(stored) == {"url": "https://h.example/rows?token=***&sig=***", "other": "x"}
    assert box.reveal(stored) == plain
    assert box.seal(stored, (), url_fields=("url",)) == stored, "sealing twice changes nothing"


def test_a_url_without_query_values_is_stored_as_given() -> None:
    box = SecretBox(Fernet.generate_key())

    stored = box.seal({"url": "https://h.example/rows"}, (), url_fields=("url",))

    assert stored == {"url": "https://h.example/rows"}


def test_an_edit_without_the_secret_keeps_the_stored_one() -> None:
    box = SecretBox(Fernet.generate_key())
    stored = box.seal({"host": "old", "password": "p"}, ())

    merged = keep_secrets(box.seal({"host": "new"}, ()), stored)

    assert box.reveal(merged) == {"host": "new", "password": "p"}


def test_a_changed_key_gives_an_error_naming_the_fix() -> None:
    stored = SecretBox(Fernet.generate_key()).seal({"password": "p"}, ())

    with pytest.raises(ConfigError, match="secret key changed.*SYNCLINE_SECRET_KEY") as caught:
        SecretBox(Fernet.generate_key()).reveal(stored)
    assert caught.value.code == "SECRET_KEY_CHANGED"


class _VaultConfig(ConnectorConfig):
    host: str
    passcode: SecretStr


class _VaultDestination:
    config_model: ClassVar[type[ConnectorConfig]] = _VaultConfig


def test_secret_fields_come_from_the_connector_class(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookup(name: str) -> Any:
        if name == "vault":
            return _VaultDestination
        raise ConfigError(f"unknown destination type {name!r}")

    monkeypatch.setattr(registry, "destination_class", lookup)

    assert secret_fields("destination", "vault") == {"passcode"}
    assert secret_fields("destination", "vault", explicit={"host"}) == {"host"}
    assert secret_fields("destination", "unknown-type") == frozenset()


@pytest.mark.parametrize(
    "value",
    [
        {"Authorization": "Bearer abc", "X-Team": "ops"},
        ["a", 1, None, {"b": True}],
        8080,
        2.5,
        True,
        "plain text",
        "{'looks': 'like a dict'}",
    ],
)
def test_any_json_secret_value_round_trips_exactly(value: Any) -> None:
    box = SecretBox(Fernet.generate_key())

    stored = box.seal({"headers": value}, ["headers"])

    assert "headers" not in redacted(stored)
    assert repr(value) not in str(stored)
    revealed = box.reveal(stored)["headers"]
    assert revealed == value
    assert type(revealed) is type(value)
