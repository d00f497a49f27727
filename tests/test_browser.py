"""The chat UI in a real browser (Debian's chromium driven by Playwright), with the real local model.

Ask, wait for the streamed answer, click a citation chip: the source panel shows the passage with
the cited span highlighted, and that span is text of the cited article. An article full of HTML
payloads is shown as text: no dialog opens, no script runs.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest

from conftest import CORPUS, GOLD_CORPORA, app_server

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWER_TIMEOUT_MS = 240_000

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.model]


@pytest.fixture(scope="module")
def browser():
    """One chromium for the module: Playwright's sync API allows one instance per thread at a time."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed and `make browser` could not install it (apt-get needs root or sudo)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def open_page(browser, url: str, shots):
    """A new tab (its own storage, so its own conversation) on the app at `url`, recording dialogs."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.shots = shots
    return page


@pytest.fixture(scope="module")
def page(app_url, browser, tmp_path_factory):
    page = open_page(browser, app_url, tmp_path_factory.mktemp("screens"))
    yield page
    page.close()


@pytest.fixture(scope="session")
def gold_app_url(tmp_path_factory, embedder):
    """app.py serving the gold set's articles: the default corpus plus the dated ones in eval/articles/."""
    from qa import pipeline
    from qa.config import Settings

    folder = tmp_path_factory.mktemp("gold-app")
    settings = Settings(index_dir=folder / "index")
    pipeline.ingest(settings, GOLD_CORPORA)
    with app_server({"QA_INDEX_DIR": str(settings.index_dir)}, folder) as url:
        yield url


def ask(page, question: str, number: int):
    """Type a question and wait until answer `number` is complete; its first citation chip."""
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    chip = page.locator(f'#chat a.cite[href^="#src-{number}-"]').first
    chip.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return chip


def _words(text: str) -> str:
    return " ".join(text.split())


def test_citation_opens_the_highlighted_span(page):
    chip = ask(page, "Why was Blinken's trip to China cancelled?", 1)
    chip.click()
    card = page.locator(".source-card.shown")
    mark = card.locator("mark")
    assert card.count() == 1 and mark.is_visible()
    span = mark.inner_text().strip()
    doc_id = card.locator(".meta code").inner_text()
    assert len(span) > 20 and _words(span) in _words((CORPUS / doc_id).read_text(encoding="utf-8"))
    assert card.get_attribute("id") == chip.get_attribute("href")[1:]
    page.screenshot(path=str(page.shots / "answer.png"))


def test_hostile_article_is_shown_as_text(page):
    ask(page, "Why was the Harbour Lights festival's fireworks display moved?", 2).click()
    card = page.locator(".source-card.shown")
    assert "zz_hostile.txt" in card.inner_text()
    assert "<script>alert('xss')</script>" in card.inner_text()
    assert page.locator(".source-card script, .source-card img, #chat script").count() == 0
    page.screenshot(path=str(page.shots / "hostile.png"))
    assert page.dialogs == []


def test_conversation_survives_a_reload(page):
    page.reload()
    page.locator('#chat a.cite[href^="#src-2-"]').first.wait_for(timeout=30_000)
    assert page.locator("#chat .message-row").count() >= 4
    assert page.dialogs == []


# While the answer is written: the evidence's first quote, whether the draft has text yet, and the
# card its link opens.
_EVIDENCE_SHOWN = """() => {
  const quote = document.querySelector('#chat .evidence a');
  if (!quote) return null;
  const draft = document.querySelector('#chat .draft');
  return {href: quote.getAttribute('href'), text: quote.innerText, draft: draft ? draft.innerText.trim() : ''};
}"""


def test_evidence_is_on_the_page_before_the_answer(page):
    page.get_by_role("tab", name="Ask").click()
    page.fill("#question textarea", "What did China say was missing for dialogue in mid-February?")
    page.keyboard.press("Enter")
    shown = page.wait_for_function(_EVIDENCE_SHOWN, timeout=60_000, polling=50).json_value()
    assert shown["draft"] == "", "the evidence should be on the page before the first word of the answer"
    assert shown["href"] == "#src-3-1" and re.match(r"\[1\] “.+”", shown["text"])
    page.locator('#chat .evidence a[href="#src-3-1"]').click()
    card = page.locator(".source-card.shown")
    assert card.get_attribute("id") == "src-3-1"
    span = card.locator("mark").inner_text().strip()
    assert _words(span) in _words(" ".join(p.read_text(encoding="utf-8") for p in CORPUS.iterdir()))
    page.locator('#chat a.cite[href^="#src-3-"]').first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.screenshot(path=str(page.shots / "evidence.png"))


def test_a_page_closed_mid_answer_leaves_the_model_to_the_next_pages(app_url, browser, tmp_path):
    """Closing the page while its answer is on the way ends it (the model is freed, from whichever
    server thread drops it); two new pages asking at once then both get their answers."""
    leaving = open_page(browser, app_url, tmp_path)
    leaving.fill("#question textarea", "What did China say was missing for dialogue in mid-February?")
    leaving.keyboard.press("Enter")
    leaving.wait_for_function(_EVIDENCE_SHOWN, timeout=120_000, polling=50)
    leaving.close()
    pages = [open_page(browser, app_url, tmp_path) for _ in range(2)]
    for page, question in zip(pages, ["Why was Blinken's trip to China cancelled?",
                                      "Why was the Harbour Lights festival's fireworks display moved?"]):
        page.fill("#question textarea", question)
        page.keyboard.press("Enter")
    # One of the two waits for the other, and says so with its evidence already on the page.
    waited = False
    deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
    while not all(page.locator('#chat a.cite[href^="#src-1-"]').count() for page in pages):
        assert time.monotonic() < deadline, "no answer in time"
        waited = waited or any(page.evaluate(_WAITING_WITH_EVIDENCE) for page in pages)
        time.sleep(0.1)
    assert waited, "neither page showed its place in line"
    for page in pages:
        assert page.locator("#chat .unsupported").count() == 0
        page.close()


_WAITING_WITH_EVIDENCE = """() => {
  const chat = document.querySelector('#chat');
  return chat.innerText.includes('Waiting: 1 question ahead') && !!chat.querySelector('.evidence a');
}"""


def test_upload_ingest_and_remove(page, tmp_path):
    article = tmp_path / "Tide report (Port Elsworth).txt"
    article.write_text("Spring tides flood Port Elsworth quay\nThe spring tide reached 6.1 metres on Sunday, "
                       "flooding the quay for two hours, the harbour master said.\n", encoding="utf-8")
    page.get_by_role("tab", name="Corpus").click()
    before = page.locator("#index-status").inner_text()
    page.locator("#uploads input[type=file]").set_input_files(str(article))
    page.locator("#ingest").click()
    page.get_by_text("Added 1,").wait_for(timeout=120_000)
    stored = "Tide_report_Port_Elsworth_.txt"  # the uploaded name, made safe
    assert stored in page.locator("#articles").inner_text() and page.locator("#index-status").inner_text() != before

    page.locator("#to-remove input").fill("Spring tides")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator("#remove").click()
    page.get_by_text("Removed 1 article").wait_for(timeout=60_000)
    assert stored not in page.locator("#articles").inner_text()
    assert page.locator("#index-status").inner_text() == before
    assert page.dialogs == []


TIMELINE_ANSWER_MS = 180_000
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Answer `number` is complete: its message is rendered in full (no stage line, not "Searching…").
_ANSWER_DONE = """(number) => {
  const bots = document.querySelectorAll('#chat [data-testid="bot"]');
  if (bots.length < number) return false;
  const last = bots[number - 1];
  return !last.querySelector('.stage') && !last.innerText.includes('Searching…');
}"""


def test_timeline_and_date_range(browser, gold_app_url, tmp_path):
    page = open_page(browser, gold_app_url, tmp_path)
    # A "how did … unfold" question: its events in date order, each chip opening its source.
    page.fill("#question textarea", "How did Shohei Ohtani's free agency unfold?")
    page.keyboard.press("Enter")
    page.wait_for_function(_ANSWER_DONE, arg=1, timeout=TIMELINE_ANSWER_MS, polling=500)
    items = page.locator("#chat .timeline ol > li")
    assert items.count() >= 2, page.locator("#chat").inner_text()
    days = items.locator("time").all_inner_texts()
    dated = [day for day in days if day != "undated"]
    assert dated and all(_DAY.fullmatch(day) for day in dated), days
    assert dated == sorted(dated) and days[:len(dated)] == dated, days  # ascending, undated last
    first = items.first
    chip = first.locator("a.cite")
    chip.click()
    card = page.locator(".source-card.shown")
    assert card.count() == 1 and card.is_visible()
    assert card.get_attribute("id") == chip.get_attribute("href")[1:]
    assert card.get_attribute("id").startswith("src-1-")
    # The card is the event's: its highlighted span is the event's sentence, from an article of the
    # same outlet and date.
    assert _words(card.locator("mark").inner_text()) in _words(first.inner_text())
    byline = first.locator(".muted").last.inner_text().strip().removeprefix("—").strip()
    assert card.locator(".meta").inner_text().startswith(byline), (byline, card.locator(".meta").inner_text())
    page.screenshot(path=str(tmp_path / "timeline.png"))

    # With "Published from" set, every source of the next answer was published on or after that day.
    page.locator("#since textarea, #since input").first.fill("2023-12-01")
    page.fill("#question textarea", "What did the Dodgers agree with Ohtani?")
    page.keyboard.press("Enter")
    page.wait_for_function(_ANSWER_DONE, arg=2, timeout=TIMELINE_ANSWER_MS, polling=500)
    answer = page.locator('#chat [data-testid="bot"]').nth(1)
    cards = page.locator('#sources .source-card[id^="src-2-"] .meta').all_inner_texts()
    links = answer.locator('.sources a, .timeline li').all_inner_texts()
    assert cards and links, answer.inner_text()
    # "Outlet · 2023-12-09" opens a card's meta and ends a source link or timeline line (whose own
    # first date is the event's day, which may come before the article's).
    published = [_DAY.findall(meta)[:1] for meta in cards] + [_DAY.findall(link)[-1:] for link in links]
    assert all(day and day[0] >= "2023-12-01" for day in published), (cards, links)
    page.screenshot(path=str(tmp_path / "since.png"))
    assert page.dialogs == []
    page.close()
