"""Map tiles are optional (SONGKHOE_MAP_TILES_URL): without the setting the map is the boundaries
only and the CSP allows images from the app alone; with it, the page names the tile layer and
the CSP allows that one origin."""

import pytest

from songkhoe.cli import main
from songkhoe.config import SettingError, get_settings, tile_origin

OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def img_src(response) -> str:
    policy = response.headers["content-security-policy"]
    return next(d for d in policy.split("; ") if d.startswith("img-src"))


def test_no_tiles_by_default(town, monkeypatch):
    monkeypatch.delenv("SONGKHOE_MAP_TILES_URL", raising=False)
    response = town.client("manager").get("/map")
    assert response.status_code == 200
    assert "data-tiles" not in response.text
    assert img_src(response) == "img-src 'self' data: blob:"


def test_a_tile_server_by_setting(town, monkeypatch):
    monkeypatch.setenv("SONGKHOE_MAP_TILES_URL", OSM)
    monkeypatch.setenv("SONGKHOE_MAP_TILES_ATTRIBUTION", "© OpenStreetMap")
    response = town.client("manager").get("/map")
    assert response.status_code == 200
    assert f'data-tiles="{OSM}"' in response.text
    assert 'data-tiles-attribution="© OpenStreetMap"' in response.text
    assert img_src(response) == "img-src 'self' data: blob: https://tile.openstreetmap.org"


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        (OSM, "https://tile.openstreetmap.org"),
        ("http://10.0.0.5:8080/{z}/{x}/{y}.png", "http://10.0.0.5:8080"),
    ],
)
def test_tile_origin(template, origin):
    assert tile_origin(template) == origin


@pytest.mark.parametrize(
    "template", ["tiles/{z}/{x}/{y}.png", "https://{s}.tile.osm.org/{z}.png", "javascript:alert(1)"]
)
def test_a_bad_tile_url_is_named(template, monkeypatch):
    assert tile_origin(template) is None
    monkeypatch.setenv("SONGKHOE_MAP_TILES_URL", template)
    with pytest.raises(SettingError, match="SONGKHOE_MAP_TILES_URL: expected an http"):
        get_settings()


def test_serve_refuses_a_bad_tile_url_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("SONGKHOE_MAP_TILES_URL", "https://{s}.tile.osm.org/{z}/{x}/{y}.png")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve"])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # earlier tests may have logged
    assert last.startswith("songkhoe: error: SONGKHOE_MAP_TILES_URL: expected an http(s) URL")
