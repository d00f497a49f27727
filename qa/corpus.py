"""Corpus loading and cleaning: files, folders and JSONL corpora become `Article`s.

Every problem with an input is reported as a `Problem` naming the file (and line)
and the rest of the corpus still loads; nothing here raises for bad content.
"""

from __future__ import annotations

import codecs
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urljoin, urlsplit

import trafilatura

from qa.types import Article

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES


@dataclass(frozen=True)
class Problem:
    """An input that was skipped (or loaded with a caveat, when ``skipped`` is false)."""

    path: str
    reason: str
    line: int | None = None
    skipped: bool = True

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class LoadedCorpus:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    max_chars: int = 2_000_000
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, articles: list[Article], problems: list[Problem], origin: str | None = None) -> None:
        """Keep `articles`, except later duplicates of a doc_id and any over `max_chars` characters (a
        text that size is a book or a dump, not news); `origin` (else each doc_id) names them in problems."""
        self.problems.extend(problems)
        for article in articles:
            where = origin or article.doc_id
            if len(article.text) > self.max_chars:
                self.problems.append(Problem(where, f"article {article.doc_id!r} has {len(article.text):,} characters; "
                                                    f"the limit is {self.max_chars:,} (QA_MAX_ARTICLE_CHARS)"))
                continue
            if article.doc_id in self._seen:
                self.problems.append(Problem(where, f"duplicate doc_id {article.doc_id!r}, kept the first"))
                continue
            self._seen.add(article.doc_id)
            self.articles.append(article)


# --- cleaning ---------------------------------------------------------------

# Whole lines that scraped news pages carry and no article needs. General shapes, not per-file.
_NOISE_LINE = re.compile(
    r"""^\s*(?:
        see\ also\b.{0,150}
      | (?:related|recommended|more|popular|trending)\ (?:articles?|posts?|stories|reading|content|news)\s*:?
      | read\ (?:more|next)\b.{0,150}
      | back\ to\ top(?:\ button)?
      | leave\ a\ (?:reply|comment)
      | your\ email\ address\ will\ not\ be\ published.*
      | required\ fields\ are\ marked.*
      | (?:share|share\ this(?:\ article)?|tweet|print|email|advertisement|skip\ to\ (?:main\ )?content)\s*:?
      | (?:sign\ up|subscribe)\ (?:for|to)\ (?:our\ )?newsletters?.{0,100}
      | our\ standards:.{0,100}
      | click\ here\ to\ .{0,100}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_TAG = re.compile(r"<[^<>\n]{1,500}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUN = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")


# --- web pages --------------------------------------------------------------

# Dates come from the page's metadata and markup only, never from a scan of its free text, which
# takes the date of a related link or a copyright line when the page states none.
_DATE_SEARCH = {"extensive_search": False, "original_date": True}
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TITLE_PARTS = re.compile(r"\s+[|\-–—:·»]\s+")


@dataclass(frozen=True)
class WebPage:
    """What an HTML page holds: its main text (before `clean_text`) and what it says about itself."""

    text: str
    title: str = ""
    source: str = ""  # the outlet
    author: str = ""
    published_at: str = ""  # YYYY-MM-DD
    url: str = ""  # the page's canonical URL, else the URL it was read from


def read_html(markup: str, url: str = "") -> WebPage:
    """Main text and metadata of a news page (trafilatura): menus, cookie banners, related links,
    comments and footers left out; title, outlet, byline and date from JSON-LD, <meta>, <time> and the like."""
    tree = trafilatura.load_html(markup)
    url = _canonical_url(tree, url) or url
    document = trafilatura.bare_extraction(tree, url=url or None, with_metadata=True, include_comments=False,
                                           date_extraction_params=dict(_DATE_SEARCH)) if tree is not None else None
    text = document.text if document is not None else ""
    if document is None:  # too little text to tell the article from the rest: the page's visible text
        document = trafilatura.extract_metadata(markup, default_url=url or None, date_config=dict(_DATE_SEARCH))
        text = trafilatura.baseline(markup)[1]
    return WebPage(
        text=text or "",
        title=" ".join((document.title or "").split()),
        source=_outlet(document.sitename or "", markup),
        author=" ".join((document.author or "").split()),
        published_at=document.date or "",
        url=document.url or url,
    )


def _canonical_url(tree, url: str) -> str:
    """The page's <link rel="canonical"> resolved against the URL it was read from (trafilatura
    keeps only absolute ones); "" without either."""
    link = tree.find('.//head//link[@rel="canonical"]') if tree is not None and url else None
    href = (link.get("href") or "").strip() if link is not None else ""
    resolved = urljoin(url, href) if href else ""
    return resolved if urlsplit(resolved).scheme in ("http", "https") else ""


def _outlet(sitename: str, markup: str) -> str:
    """The site name as the page's <title> spells it, when that is the same name squashed (a handle
    such as @northfieldreview gives "Northfieldreview" for "Northfield Review")."""
    title = _TITLE_TAG.search(markup)

    def squashed(name: str) -> str:
        return re.sub(r"\W+", "", name).lower()

    if sitename and title:
        for part in _TITLE_PARTS.split(html.unescape(title.group(1))):
            if squashed(part) == squashed(sitename):
                return " ".join(part.split())
    return sitename


def clean_text(text: str) -> str:
    """Normalise whitespace and drop page noise; the result is what offsets index into."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = html.unescape(_TAG.sub(" ", text))
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    lines = [line for line in lines if not _NOISE_LINE.match(line)]
    lines = _drop_leading_breadcrumbs(lines)
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def _drop_leading_breadcrumbs(lines: list[str]) -> list[str]:
    """Navigation crumbs ("AmericasAsia PacificPolitics") before the first real line: short, no punctuation."""
    start = 0
    for start, line in enumerate(lines):
        if line and (len(line.split()) >= 4 or re.search(r"[.,:;!?\"'“”’]", line)):
            break
    else:
        return lines
    return lines[start:]


# --- metadata from plain text ----------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_DATELINE = re.compile(r"^[A-Z][A-Z .,'-]{1,40}\(([A-Z][\w&.' -]{1,30})\)\s*[-–—]", re.MULTILINE)
_MD_HEADING = re.compile(r"^#{1,2}\s+(.+)$", re.MULTILINE)
_TITLE_MAX_WORDS = 16


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """Optional `key: value` block between --- lines at the top of a text/markdown file."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end():]


def guess_title(text: str, fallback: str) -> str:
    """A markdown heading, else a short first line without a full stop, else the first sentence."""
    heading = _MD_HEADING.search(text[:2000])
    if heading:
        return heading.group(1).strip()
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if first_line and len(first_line.split()) <= _TITLE_MAX_WORDS and not first_line.endswith("."):
        return first_line
    sentence = re.split(r"(?<=[.!?])\s", first_line, maxsplit=1)[0]
    if not sentence:
        return fallback
    return sentence if len(sentence) <= 100 else sentence[:97].rsplit(" ", 1)[0] + "…"


def guess_source(text: str) -> str:
    """The outlet named in a wire dateline such as 'WASHINGTON (Reuters) –'."""
    match = _DATELINE.search(text[:1500])
    return match.group(1).strip() if match else ""


# --- reading bytes ----------------------------------------------------------

def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(byte < 9 or 13 < byte < 32 for byte in sample)
    return controls > len(sample) * 0.05


def decode(data: bytes) -> tuple[str, str | None]:
    """Text of a file and, when it was not UTF-8, a note saying which encoding was used."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), None if encoding == "utf-8-sig" else encoding
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        # Not UTF-8: Windows-1252 maps almost every byte and is what most such news files are.
        return data.decode("cp1252", errors="replace"), "not UTF-8; read as Windows-1252"


# --- loading ----------------------------------------------------------------

def iter_files(root: Path) -> Iterator[Path]:
    """Supported files under a folder, sorted, hidden ones skipped; symlinked folders are not followed."""
    for folder, subfolders, files in os.walk(root, followlinks=False):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                yield Path(folder) / name


def load_text_file(path: Path, doc_id: str) -> tuple[Article | None, list[Problem]]:
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [Problem(str(path), f"cannot read: {error.strerror or error}")]
    if not data.strip():
        return None, [Problem(str(path), "empty file")]
    if _looks_binary(data):
        return None, [Problem(str(path), "binary file, not text")]
    raw, note = decode(data)
    problems = [Problem(str(path), note, skipped=False)] if note else []
    meta, raw = _front_matter(raw.replace("\r\n", "\n"))
    page = read_html(raw) if path.suffix.lower() in {".html", ".htm"} else WebPage(text=raw)
    article = page_article(page, doc_id, fallback_title=path.stem, front_matter=meta)
    if article is None:
        return None, problems + [Problem(str(path), "no text left after cleaning")]
    return article, problems


def page_article(page: WebPage, doc_id: str, *, fallback_title: str,
                 front_matter: dict[str, str] | None = None) -> Article | None:
    """The `Article` of a page (or a plain text as a `WebPage` without metadata); what the file's
    front matter says wins. None when no text is left after cleaning."""
    meta = front_matter or {}
    text = clean_text(page.text)
    if not text:
        return None
    return Article(
        doc_id=doc_id,
        title=meta.get("title") or page.title or guess_title(text, fallback=fallback_title),
        text=text,
        source=meta.get("source") or meta.get("outlet") or page.source or guess_source(text),
        published_at=meta.get("published_at") or meta.get("date") or page.published_at,
        url=meta.get("url") or page.url,
        author=meta.get("author") or page.author,
    )


def _field(record: dict[str, Any], *names: str) -> str:
    for name in names:
        value = record.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def load_jsonl(path: Path) -> tuple[list[Article], list[Problem]]:
    """One article per line: `doc_id`|`id`, `title`, `body`|`text`, optional `source`, `published_at`, `url`."""
    articles: list[Article] = []
    problems: list[Problem] = []
    try:
        handle = path.open("rb")
    except OSError as error:
        return [], [Problem(str(path), f"cannot read: {error.strerror or error}")]
    with handle:
        for number, raw_line in enumerate(handle, start=1):
            if not raw_line.strip():
                continue
            try:
                record = json.loads(raw_line.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                problems.append(Problem(str(path), f"not valid JSON ({error.__class__.__name__})", number))
                continue
            if not isinstance(record, dict):
                problems.append(Problem(str(path), "line is not a JSON object", number))
                continue
            body = clean_text(_field(record, "body", "text"))
            if not body:
                problems.append(Problem(str(path), "no 'body' or 'text'", number))
                continue
            articles.append(Article(
                doc_id=_field(record, "doc_id", "id") or f"{path.name}:{number}",
                title=_field(record, "title") or guess_title(body, fallback=f"{path.name}:{number}"),
                text=body,
                source=_field(record, "source"),
                published_at=_field(record, "published_at"),
                url=_field(record, "url"),
            ))
    return articles, problems


def load_corpus(paths: list[Path], *, max_chars: int = 2_000_000) -> LoadedCorpus:
    """Articles from folders, files and JSONL corpora (see `LoadedCorpus.add` for what is left out)."""
    corpus = LoadedCorpus(max_chars=max_chars)
    for path in paths:
        if not path.exists():
            corpus.problems.append(Problem(str(path), "no such file or folder"))
        elif path.is_dir():
            files = list(iter_files(path))
            if not files:
                corpus.problems.append(Problem(str(path), f"folder has no {', '.join(sorted(SUPPORTED_SUFFIXES))} files"))
            for file in files:
                corpus.add(*_load_file(file, doc_id=file.relative_to(path).as_posix(), max_chars=max_chars), origin=str(file))
        else:
            corpus.add(*_load_file(path, doc_id=path.name, max_chars=max_chars), origin=str(path))
    return corpus


def _load_file(path: Path, doc_id: str, max_chars: int) -> tuple[list[Article], list[Problem]]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return load_jsonl(path)
    if suffix not in TEXT_SUFFIXES:
        return [], [Problem(str(path), f"unsupported file type {suffix or '(none)'}; use .txt, .md, .html or .jsonl")]
    size = path.stat().st_size if path.is_file() else 0
    if size > 4 * max_chars:  # surely over the limit whatever the encoding: not even read
        return [], [Problem(str(path), f"{size / 1e6:,.1f} MB is far over the article limit of {max_chars:,} "
                                       "characters (QA_MAX_ARTICLE_CHARS)")]
    article, problems = load_text_file(path, doc_id)
    return ([article] if article else []), problems


def store_upload(source: Path, name: str, folder: Path, *, max_bytes: int) -> tuple[Path | None, Problem | None]:
    """Copy an uploaded file into `folder` under a safe version of its `name` (no paths, no odd characters).

    The same content uploaded again keeps its first name; a different file with a taken name gets "-2", "-3"….
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).lstrip("._") or "upload"
    suffix = Path(safe).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return None, Problem(name, f"not accepted: {suffix or 'no extension'}; upload .txt, .md, .html or .jsonl")
    size = source.stat().st_size
    if size > max_bytes:
        return None, Problem(name, f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit")
    data = source.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    stem, target, n = Path(safe).stem, folder / safe, 1
    while target.exists() and target.read_bytes() != data:
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    target.write_bytes(data)
    return target, None
