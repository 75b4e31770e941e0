"""Settings (songkhoe.config): every SONGKHOE_* variable is parsed in one place, and a value that
does not parse is named in one line, `songkhoe: error: NAME: expected ..., got '...'`, with exit
status 2, whatever the command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from songkhoe.config import SettingError, get_settings


def test_defaults(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SONGKHOE_"):
            monkeypatch.delenv(name)
    settings = get_settings()
    assert settings.port == 8000
    assert settings.max_body_mb == 16
    assert settings.rate_limit_per_minute == 600
    assert settings.argon2_memory_kib == 65536
    assert settings.imaging_worker == "off"
    assert settings.imaging_max_file_mb == 15
    assert settings.chat_llm_timeout_s == 8
    assert settings.jitsi_url == settings.chat_llm_url == ""
    assert settings.export_dir == Path("./var/exports")


@pytest.mark.parametrize(
    ("name", "value", "field", "parsed"),
    [
        ("SONGKHOE_PORT", "8080", "port", 8080),
        ("SONGKHOE_PORT", "65535", "port", 65535),
        ("SONGKHOE_MAX_BODY_MB", "1", "max_body_mb", 1),
        ("SONGKHOE_RATE_LIMIT_PER_MINUTE", "0", "rate_limit_per_minute", 0),
        ("SONGKHOE_ESCALATION_INTERVAL_S", "60", "escalation_interval_s", 60),
        ("SONGKHOE_ARGON2_MEMORY_KIB", "32", "argon2_memory_kib", 32),
        ("SONGKHOE_IMAGING_MAX_FILE_MB", "0.5", "imaging_max_file_mb", 0.5),
        ("SONGKHOE_CHAT_LLM_TIMEOUT_S", "20", "chat_llm_timeout_s", 20.0),
        ("SONGKHOE_IMAGING_WORKER", "thread", "imaging_worker", "thread"),
        ("SONGKHOE_JITSI_URL", " https://meet.example.vn ", "jitsi_url", "https://meet.example.vn"),
        ("SONGKHOE_JITSI_URL", "", "jitsi_url", ""),
        ("SONGKHOE_CHAT_LLM_URL", "http://[::1]:11434/v1", "chat_llm_url", "http://[::1]:11434/v1"),
        ("SONGKHOE_CHAT_LLM_API_KEY", "any text at all", "chat_llm_api_key", "any text at all"),
    ],
)
def test_good_values(monkeypatch, name, value, field, parsed):
    monkeypatch.setenv(name, value)
    assert getattr(get_settings(), field) == parsed


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SONGKHOE_PORT", "abc", "SONGKHOE_PORT: expected an integer from 1 to 65535, got 'abc'"),
        ("SONGKHOE_PORT", "", "SONGKHOE_PORT: expected an integer from 1 to 65535, got ''"),
        ("SONGKHOE_PORT", "0", "SONGKHOE_PORT: expected an integer from 1 to 65535, got '0'"),
        ("SONGKHOE_PORT", "70000", "SONGKHOE_PORT: expected an integer from 1 to 65535"),
        ("SONGKHOE_MAX_BODY_MB", "0", "SONGKHOE_MAX_BODY_MB: expected a positive integer, got '0'"),
        ("SONGKHOE_MAX_BODY_MB", "1.5", "SONGKHOE_MAX_BODY_MB: expected a positive integer"),
        ("SONGKHOE_RATE_LIMIT_PER_MINUTE", "-1", "expected an integer of at least 0, got '-1'"),
        ("SONGKHOE_ESCALATION_INTERVAL_S", "5m", "SONGKHOE_ESCALATION_INTERVAL_S: expected"),
        ("SONGKHOE_ARGON2_MEMORY_KIB", "31", "expected an integer of at least 32, got '31'"),
        ("SONGKHOE_ARGON2_MEMORY_KIB", "64MiB", "SONGKHOE_ARGON2_MEMORY_KIB: expected"),
        ("SONGKHOE_IMAGING_MAX_FILE_MB", "0", "expected a positive number, got '0'"),
        ("SONGKHOE_IMAGING_MAX_FILE_MB", "big", "SONGKHOE_IMAGING_MAX_FILE_MB: expected a posi"),
        ("SONGKHOE_CHAT_LLM_TIMEOUT_S", "nan", "SONGKHOE_CHAT_LLM_TIMEOUT_S: expected a positive"),
        ("SONGKHOE_CHAT_LLM_TIMEOUT_S", "inf", "expected a positive number, got 'inf'"),
        ("SONGKHOE_IMAGING_WORKER", "on", "expected one of off, thread, got 'on'"),
        ("SONGKHOE_JITSI_URL", "meet.example.vn", "expected an http(s) URL or nothing, got 'meet"),
        ("SONGKHOE_JITSI_URL", "ftp://meet.example.vn", "SONGKHOE_JITSI_URL: expected an http(s)"),
        ("SONGKHOE_CHAT_LLM_URL", "http://[::1/v1", "SONGKHOE_CHAT_LLM_URL: expected an http(s)"),
        ("SONGKHOE_CHAT_LLM_URL", "http:///v1", "SONGKHOE_CHAT_LLM_URL: expected an http(s)"),
    ],
)
def test_bad_values_are_named(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as error:
        get_settings()
    assert str(error.value).startswith(name + ": expected ")
    assert message in str(error.value)


def songkhoe(*args: str, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SONGKHOE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    return subprocess.run(
        [sys.executable, "-m", "songkhoe", *args],
        capture_output=True,
        text=True,
        env={**env, **settings},
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "SONGKHOE_PORT",
            "abc",
            "songkhoe: error: SONGKHOE_PORT: expected an integer from 1 to 65535, got 'abc'",
        ),
        (
            "SONGKHOE_ARGON2_MEMORY_KIB",
            "lots",
            "songkhoe: error: SONGKHOE_ARGON2_MEMORY_KIB: expected an integer of at least 32, "
            "got 'lots'",
        ),
    ],
)
def test_a_bad_setting_gives_one_line_and_status_2(tmp_path, name, value, line):
    done = songkhoe("stats", tmp_path=tmp_path, **{name: value})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [line]
    assert done.stdout == ""


def test_serve_names_a_bad_setting_before_it_starts(tmp_path):
    done = songkhoe("serve", tmp_path=tmp_path, SONGKHOE_IMAGING_WORKER="yes")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "songkhoe: error: SONGKHOE_IMAGING_WORKER: expected one of off, thread, got 'yes'"
    ]
