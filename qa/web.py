"""Articles from the web: an article page's URL, or an RSS/Atom feed whose items become articles.

Fetching is polite: one request at a time, a timeout, a size limit (a bigger response is not read
past it), a user agent that says who we are, and robots.txt respected. Every URL or feed item that
fails is one `Problem` naming it; the rest still load, and nothing of a failed one is kept.

Fetching is also guarded: each connection looks its host up once, and, unless local addresses are
allowed (the CLI; the UI only with `ui_fetch_local`), refuses when any address found is loopback,
private, link-local, multicast, reserved or otherwise not public, then connects to the address it
checked. That covers the first request, every redirect and robots.txt alike.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
from trafilatura.utils import decode_file

from qa.config import Settings
from qa.corpus import Problem, WebPage, page_article, read_html
from qa.types import Article

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ACCEPT = ("text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, "
           "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_READ_BYTES = 64 * 1024


def is_url(text: str) -> bool:
    """Whether a command-line argument is meant as a URL (any scheme://), not a path."""
    return bool(_SCHEME.match(text))


def read_url_list(path: Path) -> list[str]:
    """The URLs of a feeds file: one per line; blank lines and `#` comments ignored."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


@dataclass(frozen=True)
class Page:
    """A fetched response: `url` is where it ended up after redirects."""

    url: str
    body: bytes
    content_type: str  # media type only, lower case: "text/html"


class FetchError(Exception):
    """A URL that could not be fetched; the message is the one-line reason."""


class AddressRefused(OSError):
    """A connection not made: its host has a local address and local addresses are not allowed."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host` from one lookup (an IP literal, in any spelling, becomes its address).
    The only DNS lookup a fetch makes; tests put a fake DNS answer here."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def local_address_kind(address: str) -> str | None:
    """What makes `address` local ("a loopback address", …), or None when it is public. An IPv4
    address in IPv6 form (mapped ::ffff:a.b.c.d, 6to4, Teredo) is local when the IPv4 one is."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and (kind := local_address_kind(str(inner))):
            return f"{kind} ({inner} in IPv6 form)"
    kinds = [("an unspecified", ip.is_unspecified), ("a loopback", ip.is_loopback), ("a link-local", ip.is_link_local),
             ("a multicast", ip.is_multicast), ("a reserved", ip.is_reserved), ("a private", ip.is_private),
             ("a non-public", not ip.is_global)]  # last: shared (100.64/10) and other special ranges
    return next((f"{kind} address" for kind, is_kind in kinds if is_kind), None)


def refuse_local(host: str, addresses: list[str]) -> None:
    """AddressRefused naming the first local address among `addresses` (those of `host`), if any."""
    for ip in addresses:
        if kind := local_address_kind(ip):
            what = f"{ip} is" if ip == host else f"{host} is {ip},"
            raise AddressRefused(f"refused: {what} {kind}; the UI does not fetch local addresses (QA_UI_FETCH_LOCAL)")


def _vetted_socket(address: tuple[str, int], timeout: float, source_address: tuple[str, int] | None = None, *,
                   allow_local: bool) -> socket.socket:
    """A socket connected to `address`'s host at an address its one lookup gave and the guard passed
    (every address found is checked: one local address among public ones refuses the host)."""
    host, port = address
    found = resolve(host, port)
    if not allow_local:
        refuse_local(host, found)
    error: OSError = OSError(f"no address found for {host}")
    for ip in found:
        try:  # an IP literal: create_connection parses it, no second lookup
            return socket.create_connection((ip, port), timeout, source_address)
        except OSError as failed:
            error = failed
    raise error


class _Vetted:
    """http.client opens every socket through `_create_connection` (HTTPS then wraps it for the
    host name: TLS SNI and the certificate check stay on the name, as does the Host header)."""

    def __init__(self, *args, allow_local: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_vetted_socket, allow_local=allow_local)


class _VettedHTTPConnection(_Vetted, http.client.HTTPConnection):
    pass


class _VettedHTTPSConnection(_Vetted, http.client.HTTPSConnection):
    pass


class _VettedHandler(urllib.request.AbstractHTTPHandler):
    """http:// and https:// requests, each over a guarded connection."""

    def __init__(self, allow_local: bool) -> None:
        super().__init__()
        self.allow_local = allow_local

    def http_open(self, req):
        return self.do_open(partial(_VettedHTTPConnection, allow_local=self.allow_local), req)

    def https_open(self, req):
        return self.do_open(partial(_VettedHTTPSConnection, allow_local=self.allow_local), req)

    http_request = https_request = urllib.request.AbstractHTTPHandler.do_request_


class Fetcher:
    """Polite GET requests for one ingest; each site's robots.txt is read once. `allow_local`: whether
    hosts with loopback, private and other local addresses may be fetched (the UI's is off by default)."""

    def __init__(self, settings: Settings, *, allow_local: bool = True) -> None:
        self.settings = settings
        self._robots: dict[str, RobotFileParser | None] = {}  # site → its rules (None: no rules)
        fetcher = self

        class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
            # A redirect is a new URL: it must be http(s) and allowed by its own site's robots.txt.
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                fetcher._check(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        # Only http(s) handlers, each connection guarded. No proxy when local addresses are refused:
        # a proxy would look the host up itself, where the guard cannot check the address.
        handlers = [urllib.request.UnknownHandler(), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor(), _CheckedRedirects(), _VettedHandler(allow_local)]
        handlers += [urllib.request.ProxyHandler()] if allow_local else []
        self._opener = urllib.request.OpenerDirector()
        for handler in handlers:
            self._opener.add_handler(handler)

    def fetch(self, url: str) -> Page:
        """The response to GET `url`; FetchError when it cannot be had politely and whole."""
        self._check(url)
        return self._get(url)

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(f"not an http(s) URL ({parts.scheme or 'no scheme'})")
        if not parts.hostname:
            raise FetchError("no host in the URL")
        if not self._allowed(url):
            raise FetchError("robots.txt does not allow fetching it")

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        site = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        if site not in self._robots:
            self._robots[site] = None  # allowed while it is read: robots.txt itself may redirect within the site
            self._robots[site] = self._read_robots(site)
        rules = self._robots[site]
        return rules is None or rules.can_fetch(self.settings.user_agent, url)

    def _read_robots(self, site: str) -> RobotFileParser | None:
        # As crawlers conventionally do: a robots.txt that is missing (4xx) or cannot be fetched allows all.
        try:
            page = self._get(f"{site}/robots.txt")
        except FetchError:
            return None
        rules = RobotFileParser()
        rules.parse(decode_file(page.body).splitlines())
        return rules

    def _get(self, url: str) -> Page:
        limit = int(self.settings.fetch_max_mb * 1_000_000)
        timeout = self.settings.fetch_timeout
        request = urllib.request.Request(url, headers={"User-Agent": self.settings.user_agent, "Accept": _ACCEPT})
        started = time.monotonic()
        try:
            with self._opener.open(request, timeout=timeout) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(f"{int(declared) / 1e6:,.1f} MB is over the {self.settings.fetch_max_mb:g} MB "
                                     "limit (QA_FETCH_MAX_MB)")
                body = bytearray()
                # Read in pieces and stop at the limit or the deadline: a huge or endless response
                # is never read whole, and a trickle cannot hold the ingest beyond the timeout.
                while piece := response.read(_READ_BYTES):
                    body += piece
                    if len(body) > limit:
                        raise FetchError(f"over the {self.settings.fetch_max_mb:g} MB limit (QA_FETCH_MAX_MB); "
                                         "not read further")
                    if time.monotonic() - started > timeout:
                        raise _timed_out(timeout)
                media_type = response.headers.get_content_type().lower()
                return Page(url=response.geturl(), body=bytes(body), content_type=media_type)
        except urllib.error.HTTPError as error:
            raise FetchError(f"HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, AddressRefused):
                raise FetchError(str(error.reason)) from None
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                raise _timed_out(timeout) from None
            raise FetchError(f"cannot connect: {error.reason}") from None
        except (TimeoutError, socket.timeout):
            raise _timed_out(timeout) from None
        except (OSError, ValueError) as error:  # a dropped connection, a malformed URL
            raise FetchError(f"cannot fetch: {error}") from None


def _timed_out(seconds: float) -> FetchError:
    return FetchError(f"no complete answer within {seconds:g} s (QA_FETCH_TIMEOUT)")


def articles_from_urls(urls: list[str], settings: Settings, *,
                       allow_local: bool = True) -> tuple[list[Article], list[Problem]]:
    """Articles from article pages and feeds, in order; a URL or feed item that fails is a Problem.
    `allow_local`: whether hosts with local addresses may be fetched (see `Fetcher`)."""
    fetcher = Fetcher(settings, allow_local=allow_local)
    articles: list[Article] = []
    problems: list[Problem] = []
    for url in urls:
        found, failed = articles_from_url(url, fetcher)
        articles += found
        problems += failed
    return articles, problems


def articles_from_url(url: str, fetcher: Fetcher) -> tuple[list[Article], list[Problem]]:
    """The article at `url`, or the articles of the feed at `url`."""
    try:
        page = fetcher.fetch(url)
    except FetchError as error:
        return [], [Problem(url, str(error))]
    if page.content_type not in _HTML_TYPES:
        feed = feedparser.parse(io.BytesIO(page.body), response_headers={"content-location": page.url,
                                                                         "content-type": page.content_type})
        if feed.version:
            return _feed_articles(url, feed, fetcher)
        if page.body.lstrip()[:1] != b"<":
            return [], [Problem(url, f"neither a web page nor an RSS/Atom feed ({page.content_type})")]
    article = _page_article(page)
    return ([article], []) if article else ([], [Problem(url, "no article text on the page")])


def _page_article(page: Page, item: feedparser.FeedParserDict | None = None) -> Article | None:
    """The article of a fetched page (its outlet is the site name it declares, else its host); a title,
    byline or date the page lacks, its feed item (if any) supplies."""
    found = read_html(decode_file(page.body), url=page.url)
    if item is not None:
        found = replace(found, title=found.title or item.get("title", ""), author=found.author or item.get("author", ""),
                        published_at=found.published_at or _item_date(item))
    return page_article(found, found.url or page.url, fallback_title=page.url)


def _feed_articles(feed_url: str, feed: feedparser.FeedParserDict, fetcher: Fetcher) -> tuple[list[Article], list[Problem]]:
    """One article per item: the item's own content when the feed carries it whole (content:encoded,
    Atom <content>), else the page it links to."""
    outlet = feed.feed.get("title", "") or urlsplit(feed_url).hostname or ""
    articles: list[Article] = []
    problems: list[Problem] = []
    for number, item in enumerate(feed.entries, start=1):
        link = item.get("link", "")
        where = link or f"{feed_url} item {number}"
        if not (link or item.get("content") and item.get("id")):
            problems.append(Problem(where, f"no link and no content of its own (an item of {feed_url})"))
            continue
        try:
            article = _item_article(item, link, outlet, fetcher)
        except FetchError as error:
            problems.append(Problem(where, f"{error} (an item of {feed_url})"))
            continue
        if article is None:
            problems.append(Problem(where, f"no article text (an item of {feed_url})"))
        else:
            articles.append(article)
    return articles, problems


def _item_article(item: feedparser.FeedParserDict, link: str, outlet: str, fetcher: Fetcher) -> Article | None:
    """A feed item's article: from its own content (the feed's title is its outlet), else its page."""
    content = item.get("content")
    if content:
        body = "\n".join(part.get("value", "") for part in content)
        text = read_html(f"<html><body>{body}</body></html>").text if "html" in content[0].get("type", "") else body
        page = WebPage(text=text, title=item.get("title", ""), source=outlet, author=item.get("author", ""),
                       published_at=_item_date(item), url=link)
        return page_article(page, link or item["id"], fallback_title=link or item["id"])
    return _page_article(fetcher.fetch(link), item)


def _item_date(item: feedparser.FeedParserDict) -> str:
    """The item's publication (else update) date as YYYY-MM-DD, or ""."""
    parsed = item.get("published_parsed") or item.get("updated_parsed")
    return time.strftime("%Y-%m-%d", parsed) if parsed else ""
