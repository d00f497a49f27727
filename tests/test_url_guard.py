"""The URL guard (`qa.web`): the UI does not fetch loopback, private, link-local, multicast or reserved
addresses, however spelled, at the first request, at a redirect or for robots.txt; the CLI does.

Servers listen on loopback only. A fake DNS (`qa.web.resolve`) gives test names their addresses, and
every connection attempt outside 127.0.0.0/8 and ::1 fails the test instead of leaving the machine. To
stand in for a public site, one test-only seam counts 127.0.0.2 as public (`public_127_0_0_2`).
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa import web
from qa.config import Settings
from qa.web import Fetcher, FetchError, articles_from_urls, local_address_kind, refuse_local
from test_feeds import article_page

UI = {"allow_local": False}
CLI = {"allow_local": True}


class Server:
    """Article pages on a loopback address (HTTP, or HTTPS with `tls`); `redirects` maps a path to the
    URL it redirects to; robots.txt is missing (404) unless redirected. Records (Host header, path)."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str]] = []
        self.redirects: dict[str, str] = {}
        self.server_names: list[str | None] = []  # TLS SNI of each handshake
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.headers.get("Host", ""), self.path))
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.end_headers()
                    return
                body = b"" if self.path == "/robots.txt" else article_page(1, "Ashby").encode()
                self.send_response(404 if not body else 200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.httpd = type("Served", (ThreadingHTTPServer,), {"address_family": family})((host, 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: self.server_names.append(name)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    def url(self, host: str, path: str = "/news.html", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    """Starts `Server`s; all are shut down after the test."""
    started: list[Server] = []

    def start(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Server:
        started.append(Server(host, tls))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Connection attempts outside loopback: recorded, and failed before any packet is sent."""
    attempts: list[str] = []
    real = socket.create_connection

    def connect(address, *args, **kwargs):
        ip = ipaddress.ip_address(address[0])
        if not (ip.is_loopback or getattr(ip, "ipv4_mapped", None) and ip.ipv4_mapped.is_loopback):
            attempts.append(address[0])
            raise OSError(f"test: no connection outside loopback ({address[0]})")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    yield attempts
    assert attempts == [], "a fetch tried to leave loopback"


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """A fake DNS answer per test name (all under .example); IP literals and localhost resolve as usual."""
    answers: dict[str, list[str]] = {}
    real = web.resolve
    monkeypatch.setattr(web, "resolve", lambda host, port: answers[host] if host in answers else real(host, port))
    return answers


@pytest.fixture
def public_127_0_0_2(monkeypatch):
    """The test-only seam: 127.0.0.2 counts as a public address, so a loopback server can be a public site."""
    real = web.local_address_kind
    monkeypatch.setattr(web, "local_address_kind", lambda address: None if address == "127.0.0.2" else real(address))


def fetcher(tmp_path, mode: dict) -> Fetcher:
    return Fetcher(Settings(index_dir=tmp_path / "index"), **mode)


# --- what counts as local ------------------------------------------------------------

@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "a loopback address"), ("127.5.6.7", "a loopback address"), ("::1", "a loopback address"),
    ("10.0.0.5", "a private address"), ("172.16.3.4", "a private address"), ("192.168.1.1", "a private address"),
    ("fd00::2", "a private address"), ("169.254.169.254", "a link-local address"), ("fe80::1", "a link-local address"),
    ("224.0.0.1", "a multicast address"), ("ff02::1", "a multicast address"), ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"), ("240.0.0.1", "a reserved address"), ("255.255.255.255", "a reserved address"),
    ("100.64.0.1", "a non-public address"),  # carrier-grade NAT: neither private nor global
    ("::ffff:127.0.0.1", "a loopback address (127.0.0.1 in IPv6 form)"),
    ("::ffff:169.254.169.254", "a link-local address (169.254.169.254 in IPv6 form)"),
    ("2002:7f00:1::", "a loopback address (127.0.0.1 in IPv6 form)"),  # 6to4
    ("2002:a00:5::1", "a private address (10.0.0.5 in IPv6 form)"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address (127.0.0.1 in IPv6 form)"),  # Teredo
])
def test_local_addresses_are_named_for_what_they_are(address, kind):
    assert local_address_kind(address) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111",
                                     "2a00:1450:4009:81f::200e", "2002:5db8:d822::1"])  # the last: 6to4 of a public one
def test_public_addresses_are_not_local(address):
    assert local_address_kind(address) is None


def test_an_ordinary_https_url_with_public_addresses_passes_the_check(dns):
    dns["news.example"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    host = "news.example"  # of https://news.example/2024/05/footbridge.html
    refuse_local(host, web.resolve(host, 443))  # no AddressRefused; nothing connects


def test_one_local_address_among_public_ones_refuses_the_host():
    with pytest.raises(web.AddressRefused, match=r"^refused: mixed\.example is 10\.0\.0\.5, a private address;"):
        refuse_local("mixed.example", ["93.184.216.34", "10.0.0.5"])


# --- the UI refuses, the CLI fetches: same URLs, the local test server ------------------

LOOPBACK_SPELLINGS = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("2130706433", "2130706433 is 127.0.0.1, a loopback address"),  # decimal
    ("0x7f000001", "0x7f000001 is 127.0.0.1, a loopback address"),  # hex
    ("0177.0.0.1", "0177.0.0.1 is 127.0.0.1, a loopback address"),  # octal
    ("127.1", "127.1 is 127.0.0.1, a loopback address"),  # short
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is a loopback address (127.0.0.1 in IPv6 form)"),
    ("localhost", "localhost is "),
]


@pytest.mark.parametrize("host, reason", LOOPBACK_SPELLINGS, ids=[host for host, _ in LOOPBACK_SPELLINGS])
def test_the_ui_refuses_loopback_however_spelled_and_the_cli_fetches_it(host, reason, serve, tmp_path):
    site = serve()  # where localhost is ::1 first, the CLI connects to its next address, 127.0.0.1
    url = site.url(host)
    with pytest.raises(FetchError) as refused:
        fetcher(tmp_path, UI).fetch(url)
    assert str(refused.value).startswith(f"refused: {reason}"), refused.value
    assert str(refused.value).endswith("; the UI does not fetch local addresses (QA_UI_FETCH_LOCAL)")
    assert site.requests == []  # refused before connecting: not even robots.txt was asked for

    page = fetcher(tmp_path, CLI).fetch(url)
    assert b"Ashby approves new footbridge" in page.body
    assert site.paths == ["/robots.txt", "/news.html"]


def test_the_ui_refuses_ipv6_loopback_and_the_cli_fetches_it(serve, tmp_path):
    try:
        site = serve("::1")
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    with pytest.raises(FetchError, match=r"^refused: ::1 is a loopback address;"):
        fetcher(tmp_path, UI).fetch(site.url("[::1]"))
    assert site.requests == []
    assert b"Ashby" in fetcher(tmp_path, CLI).fetch(site.url("[::1]")).body


def test_a_name_is_checked_by_its_address_and_keeps_its_host_header(dns, serve, tmp_path):
    site = serve()
    dns["news.example"] = ["127.0.0.1"]
    with pytest.raises(FetchError, match=r"^refused: news\.example is 127\.0\.0\.1, a loopback address;"):
        fetcher(tmp_path, UI).fetch(site.url("news.example"))
    assert site.requests == []

    page = fetcher(tmp_path, CLI).fetch(site.url("news.example"))
    assert b"Ashby" in page.body and page.url == site.url("news.example")
    assert site.requests[-1] == (f"news.example:{site.port}", "/news.html")  # connected by IP, asked by name


@pytest.mark.parametrize("url, reason", [
    ("http://intranet.example/wiki", "intranet.example is 10.0.0.5, a private address"),
    ("http://metadata.example/latest/meta-data/", "metadata.example is 169.254.169.254, a link-local address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[fd00::2]:8080/", "fd00::2 is a private address"),
    ("https://224.0.0.251/", "224.0.0.251 is a multicast address"),
    ("http://0.0.0.0:8080/", "0.0.0.0 is an unspecified address"),
    ("http://[2002:a00:5::1]/", "2002:a00:5::1 is a private address (10.0.0.5 in IPv6 form)"),
    ("http://mixed.example/", "mixed.example is 10.0.0.5, a private address"),  # its first address is public
])
def test_private_link_local_and_other_addresses_are_refused_without_connecting(url, reason, dns, loopback_only,
                                                                              tmp_path):
    dns.update({"intranet.example": ["10.0.0.5"], "metadata.example": ["169.254.169.254"],
                "mixed.example": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(FetchError) as refused:
        fetcher(tmp_path, UI).fetch(url)
    assert str(refused.value).startswith(f"refused: {reason};")
    assert loopback_only == []  # no connection was even tried


@pytest.mark.parametrize("mode", [UI, CLI], ids=["ui", "cli"])
@pytest.mark.parametrize("url, scheme", [("file:///etc/passwd", "file"), ("ftp://127.0.0.1/pub/news.xml", "ftp"),
                                         ("gopher://127.0.0.1:70/", "gopher"), ("127.0.0.1/news.html", "no scheme")])
def test_only_http_and_https_are_fetched(url, scheme, mode, tmp_path):
    with pytest.raises(FetchError, match=rf"^not an http\(s\) URL \({scheme}\)$"):
        fetcher(tmp_path, mode).fetch(url)


# --- redirects, robots.txt and proxies go through the same guard --------------------------

def test_a_redirect_to_loopback_is_refused_in_the_ui_and_followed_by_the_cli(dns, serve, public_127_0_0_2, tmp_path):
    public, internal = serve("127.0.0.2"), serve("127.0.0.1")
    dns["news.example"] = ["127.0.0.2"]
    public.redirects["/moved"] = internal.url("127.0.0.1", "/admin")
    with pytest.raises(FetchError, match=r"^refused: 127\.0\.0\.1 is a loopback address;"):
        fetcher(tmp_path, UI).fetch(public.url("news.example", "/moved"))
    assert public.paths == ["/robots.txt", "/moved"] and internal.requests == []

    page = fetcher(tmp_path, CLI).fetch(public.url("news.example", "/moved"))
    assert page.url == internal.url("127.0.0.1", "/admin") and internal.paths == ["/robots.txt", "/admin"]


def test_a_redirect_to_a_name_with_a_private_address_is_refused(dns, serve, public_127_0_0_2, loopback_only,
                                                                tmp_path):
    public = serve("127.0.0.2")
    dns.update({"news.example": ["127.0.0.2"], "intranet.example": ["10.0.0.5"]})
    public.redirects["/moved"] = "http://intranet.example/wiki"
    with pytest.raises(FetchError, match=r"^refused: intranet\.example is 10\.0\.0\.5, a private address;"):
        fetcher(tmp_path, UI).fetch(public.url("news.example", "/moved"))
    assert loopback_only == []


def test_a_robots_txt_that_redirects_inside_is_not_followed(dns, serve, public_127_0_0_2, tmp_path):
    public, internal = serve("127.0.0.2"), serve("127.0.0.1")
    dns["news.example"] = ["127.0.0.2"]
    public.redirects["/robots.txt"] = internal.url("127.0.0.1", "/robots.txt")
    page = fetcher(tmp_path, UI).fetch(public.url("news.example"))
    assert b"Ashby" in page.body  # robots.txt could not be read, so all is allowed, as when it is missing
    assert public.paths == ["/robots.txt", "/news.html"] and internal.requests == []


def test_the_ui_ignores_proxy_settings_a_proxy_would_resolve_names_unchecked(dns, serve, public_127_0_0_2,
                                                                             monkeypatch, tmp_path):
    proxy = serve("127.0.0.2")  # a public proxy, which could reach the intranet
    dns.update({"proxy.example": ["127.0.0.2"], "intranet.example": ["10.0.0.5"]})
    monkeypatch.setenv("http_proxy", f"http://proxy.example:{proxy.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(FetchError, match=r"^refused: intranet\.example is 10\.0\.0\.5"):
        fetcher(tmp_path, UI).fetch("http://intranet.example/wiki")
    assert proxy.requests == []

    dns["intranet.example"] = ["127.0.0.1"]
    fetcher(tmp_path, CLI).fetch("http://intranet.example/wiki")  # the CLI keeps using the proxy
    assert proxy.requests[-1] == ("intranet.example", "http://intranet.example/wiki")


# --- HTTPS: the connection goes to the checked address, TLS checks the name --------------

@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for news.example, trusted (SSL_CERT_FILE) for this test: (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=news.example", "-addext", "subjectAltName=DNS:news.example", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def test_https_sends_the_name_for_sni_and_checks_the_certificate_against_it(certificate, dns, serve, tmp_path):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    site = serve("127.0.0.1", tls=tls)
    dns.update({"news.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})

    page = fetcher(tmp_path, CLI).fetch(site.url("news.example", scheme="https"))
    assert b"Ashby" in page.body
    assert "news.example" in site.server_names and site.requests[-1] == (f"news.example:{site.port}", "/news.html")

    with pytest.raises(FetchError, match="certificate is not valid for 'other.example'"):
        fetcher(tmp_path, CLI).fetch(site.url("other.example", scheme="https"))
    with pytest.raises(FetchError, match=r"^refused: news\.example is 127\.0\.0\.1"):
        fetcher(tmp_path, UI).fetch(site.url("news.example", scheme="https"))


# --- ingest: each refusal is one problem, the other URLs load -----------------------------

def test_a_refused_url_is_one_problem_and_the_others_load(dns, serve, public_127_0_0_2, tmp_path):
    public, internal = serve("127.0.0.2"), serve("127.0.0.1")
    dns["news.example"] = ["127.0.0.2"]
    urls = [internal.url("127.0.0.1"), public.url("news.example"), "http://2130706433/"]
    articles, problems = articles_from_urls(urls, Settings(index_dir=tmp_path / "index"), **UI)
    assert [article.url for article in articles] == [public.url("news.example", "/news/ashby-footbridge")]
    assert [str(problem) for problem in problems] == [
        f"{urls[0]}: refused: 127.0.0.1 is a loopback address; the UI does not fetch local addresses "
        "(QA_UI_FETCH_LOCAL)",
        "http://2130706433/: refused: 2130706433 is 127.0.0.1, a loopback address; the UI does not fetch local "
        "addresses (QA_UI_FETCH_LOCAL)"]
    assert internal.requests == []


def test_the_ui_refuses_a_loopback_url_and_ingests_nothing(serve, tmp_path, embedder, monkeypatch):
    import app

    site = serve()
    monkeypatch.setattr(app, "SETTINGS", Settings(index_dir=tmp_path / "index", upload_dir=tmp_path / "uploads"))
    url = site.url("127.0.0.1")
    status, rows, scope, _, log = app.ingest_uploads(None, f"{url}\n", progress=lambda *a, **k: None)
    assert "Added 0" in log, log
    assert f"⚠️ {url}: refused: 127.0.0.1 is a loopback address; the UI does not fetch local addresses " \
           "(QA_UI_FETCH_LOCAL)" in log, log
    assert rows == [] and site.requests == []

    monkeypatch.setattr(app, "SETTINGS", Settings(index_dir=tmp_path / "index", upload_dir=tmp_path / "uploads",
                                                  ui_fetch_local=True))
    status, rows, scope, _, log = app.ingest_uploads(None, f"{url}\n", progress=lambda *a, **k: None)
    assert "Added 1" in log and "refused" not in log, log
