"""The `songkhoe` command end to end, as a user runs it (subprocess, real SQLite file)."""

import json
import os
import subprocess
import sys

import pytest


def songkhoe(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SONGKHOE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "songkhoe", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_synth_then_stats(sqlite_url):
    done = songkhoe(
        "synth",
        "--province",
        "24",
        "--people",
        "300",
        "--seed",
        "3",
        "--as-of",
        "2026-06-30",
        database_url=sqlite_url,
    )
    assert done.returncode == 0, done.stderr
    assert "synthesised 300 people" in done.stdout
    stats = songkhoe("stats", "--json", database_url=sqlite_url)
    assert stats.returncode == 0, stats.stderr
    result = json.loads(stats.stdout)
    assert result["resources"]["Patient"] == 300
    assert result["resources"]["Location"] > 3321
    assert result["resources"]["Observation"] > 300
    assert list(result["provinces"]) == ["24"]
    bac_ninh = result["provinces"]["24"]
    assert bac_ninh["name"] == "Bắc Ninh"
    assert bac_ninh["people"] == 300
    assert bac_ninh["resources"]["Observation"] == result["resources"]["Observation"]


def test_db_upgrade_creates_the_database(sqlite_url, tmp_path):
    done = songkhoe("db", "upgrade", database_url=sqlite_url)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli.db").exists()


@pytest.mark.parametrize(
    ("args", "url", "message"),
    [
        (("synth", "--province", "99", "--people", "10"), None, "'99'"),
        (("synth", "--province", "24", "--people", "-5"), None, "--people"),
        (("synth", "--province", "24", "--people", "ten"), None, "ten"),
        (("stats",), "postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot reach database"),
        (("db", "upgrade"), "mysql+nosuchdriver://x/y", "database URL"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(args, url, message, sqlite_url):
    done = songkhoe(*args, database_url=url or sqlite_url)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("songkhoe: error: ")
    assert message in lines[0]
