"""Third-party browser libraries, installed from PyPI and served by the app at /static/vendor/.

- htmx 2.0 (0BSD) from the `django-js-lib-htmx` wheel (plain static files, no Django needed),
- Leaflet 1.9 (BSD-2-Clause) from `xstatic-leaflet`.
Nothing comes from a CDN. Each file is read once, kept in memory with its gzip form, and sent
compressed to browsers that accept gzip, with a long cache lifetime (the version is in the
package, so a new version means a new install and a restart).
"""

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import xstatic.pkg.leaflet as leaflet
from fastapi import APIRouter, Request
from fastapi.responses import Response

MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


def _htmx(name: str) -> bytes:
    return resources.files("js_lib_htmx").joinpath("static", "htmx", name).read_bytes()


def _leaflet(name: str) -> bytes:
    return (Path(leaflet.BASE_DIR) / name).read_bytes()


SOURCES = {
    "htmx.min.js": lambda: _htmx("htmx.min.js"),
    "leaflet.js": lambda: _leaflet("leaflet.js"),
    "leaflet.css": lambda: _leaflet("leaflet.css"),
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


@cache
def asset(name: str) -> Asset:
    """A vendor file by name (KeyError for an unknown one)."""
    body = SOURCES[name]()
    return Asset(
        body=body,
        gzipped=gzip.compress(body, 9, mtime=0),
        media_type=MEDIA[Path(name).suffix],
        etag=f'"{hashlib.sha256(body).hexdigest()[:16]}"',
    )


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def send(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    gzipped: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """`body`, gzip-compressed when the client accepts it (`gzipped` if already made)."""
    extra = {"vary": "Accept-Encoding", **(headers or {})}
    if accepts_gzip(request) and len(body) > 1024:
        compressed = gzipped if gzipped is not None else gzip.compress(body, 6, mtime=0)
        return Response(
            compressed, media_type=media_type, headers={**extra, "content-encoding": "gzip"}
        )
    return Response(body, media_type=media_type, headers=extra)


# Public: the login page needs them too, and they are published libraries, the same for everyone.
router = APIRouter(include_in_schema=False)


@router.get("/static/vendor/{name}")
def vendor(request: Request, name: str) -> Response:
    if name not in SOURCES:
        return Response("not found", status_code=404, media_type="text/plain")
    found = asset(name)
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers={"etag": found.etag})
    cached = {"etag": found.etag, "cache-control": "public, max-age=604800"}
    return send(request, found.body, found.media_type, gzipped=found.gzipped, headers=cached)
