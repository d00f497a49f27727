"""Saved web pages of five site layouts (tests/pages/): outlet, title, date and byline read right, and
only the article's own text stored (no menus, cookie banners, related links, comment forms or footers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.corpus import load_corpus
from qa.index import Manifest

PAGES = Path(__file__).parent / "pages"


# What each page says, as written in its markup: (file, title, outlet, date, author, sentences of the
# body, lines of its boilerplate).
LAYOUTS = [
    ("harbour-gazette.html", "Ferry crews vote to strike over night-shift rota", "Harbour Gazette", "2024-03-14",
     "Maren Odegaard",
     ["Crews on the Kessock Sound ferry voted by 212 votes to 31 to strike for 48 hours from 2 April, "
      "the Maritime Workers' Union said on Wednesday.",
      "Union organiser Callum Reid said members had \"run out of patience\" after three rounds of talks "
      "failed to produce a revised timetable."],
     ["We use cookies", "Accept all cookies", "Sport", "Opinion", "Related stories",
      "Winter ferry timetable cut", "Leave a comment", "Comments are moderated", "Post comment",
      "All rights reserved", "Privacy policy"]),
    ("lakeside-notes.html", "Library extension wins planning approval", "Lakeside Notes", "2023-09-05",
     "Priya Castellano",
     ["Plans to add a glass reading room to Westmere library were approved by the district planning committee "
      "on Tuesday evening.",
      "The library's friends group raised £86,000 of the £410,000 cost through book sales and a sponsored swim "
      "across the lake."],
     ["Skip to content", "Schools", "Recent Posts", "Archives", "Previous post", "Number 12 bus",
      "Leave a Reply", "Your email address will not be published", "Post Comment", "Proudly powered",
      "Community news from the lake towns"]),
    ("meridian-wire.html", "Copper price climbs as Andean mine stays shut", "Meridian Wire", "2024-06-21",
     "Tomas Villanueva",
     ["Three-month copper on the metals exchange touched $10,480 a tonne, its highest since early May, "
      "before easing to $10,395 by midday.",
      "Traders said smelters in Asia had begun to draw on their own stocks, a sign that the shortfall was being "
      "felt beyond the futures market."],
     ["Sign in", "Sign up for our newsletter", "Share this article", "Most read", "Oil slides",
      "All quotes delayed", "Terms of use", "Cookie settings"]),
    ("northfield-review.html", "The orchard that outlived its town", "Northfield Review", "2022-10-30",
     "Elsie Marchetti",
     ["When the railway stopped calling at Harrowby in 1961, the town emptied within a decade, but the orchard "
      "planted by its schoolchildren in 1934 is still producing apples.",
      "Of the 120 trees the pupils planted, 47 survive, most of them an old russet variety that nurseries "
      "stopped selling in the 1950s."],
     ["Your privacy", "store and access information on your device", "I agree", "Podcasts", "Long reads",
      "Copy link", "More from Travel", "lighthouse keepers", "Advertise with us", "Northfield Press"]),
    ("valley-courier.html", "Reservoir levels fall to a ten-year low", "Valley Courier", "2021-08-17",
     "Dale Okonkwo",
     ["Sunfield Reservoir was at 38 percent of capacity on Monday, the lowest reading for mid-August since 2011, "
      "the county water district said.",
      "Hydrologist Irene Sato said snowpack in the mountains feeding the reservoir had melted almost three weeks "
      "earlier than normal this spring."],
     ["Classifieds", "E-Edition", "This website uses cookies", "Got it", "Tags:", "You may also like",
      "County fair returns", "Join the conversation", "logged in to post", "Call the newsroom", "Copyright"]),
]


@pytest.fixture(scope="module")
def articles():
    corpus = load_corpus([PAGES])
    assert corpus.problems == []
    return {article.doc_id: article for article in corpus.articles}


@pytest.mark.parametrize("name, title, outlet, date, author, sentences, boilerplate", LAYOUTS,
                         ids=[layout[0] for layout in LAYOUTS])
def test_each_layout_gives_title_outlet_date_byline_and_only_the_article(
        articles, name, title, outlet, date, author, sentences, boilerplate):
    article = articles[name]
    assert (article.title, article.source, article.published_at) == (title, outlet, date)
    assert author in article.author
    for sentence in sentences:
        assert sentence in article.text
    for line in boilerplate:
        assert line not in article.text, line


def test_a_page_with_no_date_and_no_site_name_gets_neither(articles):
    # Its related links carry dates in their URLs and text, and its menu has short words: none of it is
    # the article's date or outlet.
    article = articles["undated-no-outlet.html"]
    assert article.title == "Volunteers clear the towpath after the storm"
    assert article.published_at == ""
    assert article.source == ""
    assert "forty volunteers spent the weekend clearing fallen willows" in article.text
    assert "Lock gates replaced" not in article.text and "Contact" not in article.text


def test_the_canonical_link_is_the_article_url(articles):
    assert articles["harbour-gazette.html"].url == "https://www.harbourgazette.example/news/2024/ferry-crews-vote-to-strike"
    assert articles["lakeside-notes.html"].url == ""


def test_front_matter_wins_over_what_the_page_says(tmp_path):
    page = (PAGES / "valley-courier.html").read_text()
    (tmp_path / "page.html").write_text("---\nsource: The Sunfield Echo\npublished_at: 2021-08-18\n---\n" + page)
    [article] = load_corpus([tmp_path]).articles
    assert (article.source, article.published_at, article.title) == (
        "The Sunfield Echo", "2021-08-18", "Reservoir levels fall to a ten-year low")


def test_extraction_is_the_same_every_time():
    # Re-ingesting skips an article only if its text and metadata hash the same.
    first, second = load_corpus([PAGES]).articles, load_corpus([PAGES]).articles
    assert [a.content_hash for a in first] == [a.content_hash for a in second]


def test_outlet_date_and_author_reach_the_index(settings, embedder):
    from qa import pipeline

    pipeline.ingest(settings, [PAGES])
    entry = Manifest.read(settings.manifest_path).articles["harbour-gazette.html"]
    assert (entry["source"], entry["published_at"], entry["author"]) == ("Harbour Gazette", "2024-03-14",
                                                                         "Maren Odegaard")
    [passage] = pipeline.search(settings, "How many passengers use the Kessock Sound crossing?", top_k=1)
    assert (passage.doc_id, passage.source, passage.published_at) == ("harbour-gazette.html", "Harbour Gazette",
                                                                      "2024-03-14")
