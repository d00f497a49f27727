"""`qa ingest URL` and `--feeds FILE` against a local web server (127.0.0.1 only; no test touches the
internet): feeds of 20 items, re-ingesting, a changed item, dead links, huge and slow pages, robots.txt."""

from __future__ import annotations

import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.config import Settings
from qa.index import Manifest
from qa.web import Fetcher, FetchError, articles_from_urls

TOWNS = ["Ashby", "Brackenridge", "Colwick", "Dunmore", "Elsworth", "Fairlop", "Glenrothes", "Hartwell",
         "Ivybridge", "Jarrow", "Kelso", "Lynton", "Marlow", "Nairn", "Oundle", "Penrith", "Quorn", "Rye",
         "Selby", "Tring"]
HUGE_BYTES = 50 * 1024 * 1024


def article_page(n: int, town: str, extra: str = "") -> str:
    """An article page of the invented "Shire Post", with the menus, banners and lists real pages have."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{town} approves new footbridge | Shire Post</title>
<link rel="canonical" href="/news/{town.lower()}-footbridge">
<meta property="og:site_name" content="Shire Post">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "{town} approves new footbridge",
 "datePublished": "2024-05-{n:02d}T08:00:00Z", "publisher": {{"@type": "Organization", "name": "Shire Post"}}}}</script>
</head><body>
<div class="cookie-banner">We use cookies to make this site work. <button>Accept</button></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>{town} approves new footbridge</h1>
<p>Councillors in {town} approved a {10 + n}-metre footbridge over the river on the {n}th of May, ending a wait of {n + 2} years.</p>
<p>The bridge will cost {n * 40},000 pounds and should open before the {town} summer fair, the council said.</p>
<p>Residents had collected {n * 100} signatures asking for a safer crossing after the old ford flooded twice last winter.{extra}</p>
</article>
<aside><h3>Related stories</h3><ul><li><a href="/news/ford">Ford closed again after heavy rain</a></li></ul></aside>
<footer>© 2024 Shire Post. All rights reserved.</footer>
</body></html>"""


def rss(base: str, links: list[str]) -> str:
    items = "".join(f"<item><title>Item {n}</title><link>{base}{link}</link>"
                    f"<pubDate>Mon, {n:02d} May 2024 08:00:00 GMT</pubDate></item>"
                    for n, link in enumerate(links, start=1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Shire Post</title>'
            f"<link>{base}/</link><description>Local news</description>{items}</channel></rss>")


class Site:
    """Files written to a folder, served over HTTP, plus /slow, /huge and /moved made on the fly."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requested: list[str] = []
        self.huge_bytes_sent = 0
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                site.requested.append(self.path)
                if self.path == "/moved":
                    self.send_response(301)
                    self.send_header("Location", "/news/colwick-footbridge.html")
                    self.end_headers()
                elif self.path == "/slow.html":
                    time.sleep(3)
                    super().do_GET()
                elif self.path == "/huge.html":
                    self.serve_huge()
                else:
                    super().do_GET()

            def serve_huge(self):
                # No Content-Length: only reading it tells how big it is.
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                block = b"<p>" + b"filler text " * 5000 + b"</p>\n"
                try:
                    while site.huge_bytes_sent < HUGE_BYTES:
                        self.wfile.write(block)
                        site.huge_bytes_sent += len(block)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def write(self, path: str, text: str) -> None:
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@pytest.fixture
def site(tmp_path):
    served = Site(tmp_path / "site")
    (tmp_path / "site").mkdir()
    for n, town in enumerate(TOWNS, start=1):
        served.write(f"news/{town.lower()}-footbridge.html", article_page(n, town))
    yield served
    served.server.shutdown()
    served.server.server_close()


def ingest(*args: str):
    return CliRunner().invoke(main, ["ingest", *args], catch_exceptions=False)


def counts(result) -> dict[str, int]:
    return {name: int(number) for number, name in re.findall(r"(\d+) (added|updated|unchanged|skipped)", result.stderr)}


def skipped_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("skipped:")]


def test_a_feed_of_twenty_items_ingests_once_then_only_changes(site, tmp_path, embedder):
    index = str(tmp_path / "index")
    site.write("feed.xml", rss(site.base, [f"/news/{town.lower()}-footbridge.html" for town in TOWNS]))

    first = ingest(f"{site.base}/feed.xml", "--index", index)
    assert first.exit_code == 0, first.output
    assert counts(first) == {"added": 20, "updated": 0, "unchanged": 0, "skipped": 0}, first.stderr
    entries = Manifest.read(Path(index) / "manifest.json").articles
    # The doc_id is the page's canonical URL (its <link rel="canonical">, without the .html it was served at).
    entry = entries[f"{site.base}/news/dunmore-footbridge"]
    assert (entry["title"], entry["source"], entry["published_at"], entry["url"]) == (
        "Dunmore approves new footbridge", "Shire Post", "2024-05-04", f"{site.base}/news/dunmore-footbridge")

    again = ingest(f"{site.base}/feed.xml", "--index", index)
    assert counts(again) == {"added": 0, "updated": 0, "unchanged": 20, "skipped": 0}, again.stderr

    site.write("news/kelso-footbridge.html", article_page(11, "Kelso", " The contractor has since gone bust."))
    changed = ingest(f"{site.base}/feed.xml", "--index", index)
    assert counts(changed) == {"added": 0, "updated": 1, "unchanged": 19, "skipped": 0}, changed.stderr


def test_dead_huge_slow_and_disallowed_links_are_one_line_each_and_the_rest_goes_in(site, tmp_path, embedder,
                                                                                     monkeypatch):
    monkeypatch.setenv("QA_FETCH_TIMEOUT", "1")
    site.write("robots.txt", "User-agent: *\nDisallow: /private/\n")
    site.write("private/secret.html", article_page(1, "Secretville"))
    links = ["/news/ashby-footbridge.html", "/gone.html", "/huge.html", "/slow.html", "/private/secret.html",
             "/news/brackenridge-footbridge.html"]
    site.write("feed.xml", rss(site.base, links))

    result = ingest(f"{site.base}/feed.xml", "--index", str(tmp_path / "index"))
    assert result.exit_code == 0, result.output
    assert counts(result)["added"] == 2
    lines = skipped_lines(result)
    assert len(lines) == 4, lines
    reasons = {path: next(line for line in lines if path in line) for path in links[1:5]}
    assert "HTTP 404" in reasons["/gone.html"]
    assert "MB limit" in reasons["/huge.html"]
    assert "within 1 s" in reasons["/slow.html"]
    assert "robots.txt" in reasons["/private/secret.html"]
    assert "/private/secret.html" not in site.requested
    assert site.huge_bytes_sent < HUGE_BYTES  # the client stopped reading: the server could not send it all


def test_an_atom_feed_with_full_content_needs_no_page_fetches(site, tmp_path, embedder):
    entries = "".join(f"""<entry><title>{town} library reopens</title><id>tag:shirepost.example,2024:{n}</id>
<link href="{site.base}/library/{n}"/><updated>2024-06-{n:02d}T10:00:00Z</updated><author><name>Ann Weir</name></author>
<content type="html">&lt;p&gt;The library in {town} reopened on Saturday after a {n}-month refit paid for by the parish.&lt;/p&gt;
&lt;p&gt;Visitors borrowed {n * 37} books on the first day, the librarian said.&lt;/p&gt;</content></entry>"""
                      for n, town in enumerate(TOWNS[:3], start=1))
    site.write("atom.xml", f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                           f"<title>Shire Post libraries</title><id>tag:shirepost.example,2024:feed</id>"
                           f"<updated>2024-06-03T10:00:00Z</updated>{entries}</feed>")

    result = ingest(f"{site.base}/atom.xml", "--index", str(tmp_path / "index"))
    assert counts(result)["added"] == 3, result.stderr
    assert site.requested == ["/robots.txt", "/atom.xml"]
    entry = Manifest.read(tmp_path / "index" / "manifest.json").articles[f"{site.base}/library/2"]
    assert (entry["title"], entry["source"], entry["published_at"], entry["author"]) == (
        "Brackenridge library reopens", "Shire Post libraries", "2024-06-02", "Ann Weir")


def test_a_feeds_file_mixes_feeds_pages_and_bad_lines(site, tmp_path, embedder):
    site.write("feed.xml", rss(site.base, [f"/news/{town.lower()}-footbridge.html" for town in TOWNS[:2]]))
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(f"# my sources\n{site.base}/feed.xml\n\n{site.base}/moved   # an article page, moved\n"
                     "ftp://example.org/news.xml\nhttp:///no-host\n")
    result = ingest("--feeds", str(feeds), "--index", str(tmp_path / "index"))
    assert result.exit_code == 0, result.output
    assert counts(result)["added"] == 3, result.stderr  # two feed items, and the page /moved redirects to
    entries = Manifest.read(tmp_path / "index" / "manifest.json").articles
    assert f"{site.base}/news/colwick-footbridge" in entries  # the page's own URL, not /moved
    lines = skipped_lines(result)
    assert len(lines) == 2, lines
    assert "ftp://example.org/news.xml: not an http(s) URL" in lines[0]
    assert "http:///no-host: no host in the URL" in lines[1]


def test_the_user_agent_is_sent_and_a_site_may_shut_it_out(site, tmp_path):
    site.write("robots.txt", "User-agent: newsqa\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    fetcher = Fetcher(Settings(index_dir=tmp_path / "index"))
    with pytest.raises(FetchError, match="robots.txt"):
        fetcher.fetch(f"{site.base}/news/ashby-footbridge.html")
    assert site.requested == ["/robots.txt"]


def test_a_page_that_is_not_html_or_a_feed_is_refused(site, tmp_path):
    (site.folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    articles, problems = articles_from_urls([f"{site.base}/photo.png"], Settings(index_dir=tmp_path / "index"))
    assert articles == []
    assert [str(problem) for problem in problems] == [
        f"{site.base}/photo.png: neither a web page nor an RSS/Atom feed (image/png)"]


def test_the_ui_ingests_pasted_urls(site, tmp_path, embedder, monkeypatch):
    """The Corpus tab's URL box goes through the same ingest: a page goes in, a line that is no URL is
    one note, and the scope list offers the new article."""
    import app
    from qa.config import Settings

    # The test site is on 127.0.0.1, a local address the UI fetches only with ui_fetch_local on.
    monkeypatch.setattr(app, "SETTINGS", Settings(index_dir=tmp_path / "index", upload_dir=tmp_path / "uploads",
                                                  ui_fetch_local=True))
    page = f"{site.base}/news/{TOWNS[0].lower()}-footbridge.html"
    status, rows, scope, _, log = app.ingest_uploads(None, f"{page}\nnot a url\n", progress=lambda *a, **k: None)
    assert "Added 1" in log and "not a url: not a URL" in log, log
    assert [row[2] for row in rows] == ["Shire Post"]
    assert any(value.startswith("doc:http") for _, value in scope["choices"]), scope
