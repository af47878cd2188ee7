"""PDF rendering with WeasyPrint, locked down: a document reaches nothing but our own assets.

`render()` lays out HTML that our templates made (client text autoescaped) with a URL fetcher
that serves only the files in this package's `assets/` folder, by the `practice-asset:`
scheme, and refuses every other URL: `file:`, `http(s):`, `data:`, anything a redirect would
lead to (nothing is ever opened, so there is no redirect to follow). A refused resource is
left out and the document still renders. The PDF is tagged, with a title and a language.

WeasyPrint is imported on first use (or by `preload()`, which a worker calls before it forks),
so that the web process pays for it only when it renders.
"""

from __future__ import annotations

import logging
import re
import resource
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)
# WeasyPrint narrates every step at INFO; a worker's log is for what went wrong.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

ASSETS = Path(__file__).parent / "assets"
ASSET_SCHEME = "practice-asset:"
# What an asset may be, by its suffix.
MEDIA_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


class RefusedURL(ValueError):
    """A document asked for something outside our own assets."""


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


def asset_url(name: str) -> str:
    """The URL a template uses for one of our assets."""
    return f"{ASSET_SCHEME}{name}"


@cache
def _asset_names() -> frozenset[str]:
    # A fixed list, read once: a name is looked up in it, never joined to a path.
    return frozenset(
        path.name for path in ASSETS.iterdir() if path.is_file() and path.suffix in MEDIA_TYPES
    )


def fetch_asset(url: str) -> tuple[bytes, str]:
    """The bytes and media type of one of our assets; RefusedURL for any other URL."""
    if not url.startswith(ASSET_SCHEME):
        # Only the scheme is told: the rest of a URL is not ours to write down.
        scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]{0,19}):", url)
        raise RefusedURL(f"refused a {scheme.group(1).lower() if scheme else 'relative'} URL")
    name = url[len(ASSET_SCHEME) :].lstrip("/")
    if name not in _asset_names():
        raise RefusedURL("refused an unknown asset")
    path = ASSETS / name
    return path.read_bytes(), MEDIA_TYPES[path.suffix]


@cache
def _weasyprint():
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LockedFetcher(URLFetcher):
        """WeasyPrint's fetcher with every handler replaced by one: our own assets."""

        def __init__(self):
            super().__init__(allowed_protocols=(), allow_redirects=False)
            self.refused = 0

        def fetch(self, url, headers=None):
            try:
                body, media_type = fetch_asset(url)
            except RefusedURL:
                self.refused += 1
                raise
            return URLFetcherResponse(url, body, {"Content-Type": media_type})

    return weasyprint, FontConfiguration, LockedFetcher


_per_thread = threading.local()


def _fonts(font_configuration):
    """This thread's font configuration, made once: the fonts found and the descriptions
    made by one render serve the next (a fifth of a render's time). Our stylesheets declare
    no @font-face, so nothing a document says is kept in it; one per thread, because Pango's
    objects are not to be shared between threads."""
    fonts = getattr(_per_thread, "fonts", None)
    if fonts is None:
        fonts = _per_thread.fonts = font_configuration()
    return fonts


def preload() -> None:
    """Import WeasyPrint and lay out a page once (fonts found, caches warm): a worker does
    this before forking, so that no job pays for it."""
    render("<!doctype html><html lang='en'><title>-</title><p>practice</p></html>")


def render(html: str, *, stylesheets: tuple[str, ...] = ()) -> RenderedPdf:
    """Lay out `html` (with our `stylesheets`, by asset name) and return the tagged PDF."""
    weasyprint, FontConfiguration, LockedFetcher = _weasyprint()
    fetcher = LockedFetcher()
    fonts = _fonts(FontConfiguration)
    css = [
        weasyprint.CSS(url=asset_url(name), url_fetcher=fetcher, font_config=fonts)
        for name in stylesheets
    ]
    document = weasyprint.HTML(string=html, base_url=asset_url(""), url_fetcher=fetcher).render(
        font_config=fonts, stylesheets=css, pdf_tags=True
    )
    data = document.write_pdf(pdf_tags=True)
    if fetcher.refused:
        log.warning("a PDF asked for %d resource(s) outside its assets: refused", fetcher.refused)
    return RenderedPdf(data=data, pages=len(document.pages))


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux), or 0 where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


@contextmanager
def memory_cap(headroom_mb: int | None):
    """Let the block grow this process's memory by at most `headroom_mb`: past it an
    allocation fails (MemoryError) instead of the machine swapping. None: no cap."""
    current = _address_space()
    if not headroom_mb or not current:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = current + headroom_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
