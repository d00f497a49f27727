"""Files uploaded in the UI are stored under safe names, within limits, and can be removed again."""

from __future__ import annotations

from qa import pipeline
from qa.corpus import store_upload


def _file(tmp_path, name: str, data: bytes):
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def test_names_cannot_escape_the_upload_folder(tmp_path):
    folder = tmp_path / "uploads"
    for name in ["../../etc/evil.txt", "..\\..\\evil.txt", "/abs/evil.txt", ".hidden.txt", "we ird*na|me.txt"]:
        stored, problem = store_upload(_file(tmp_path, "x.txt", name.encode()), name, folder, max_bytes=1000)
        assert problem is None and stored.parent == folder and not stored.name.startswith(".")
        assert stored.read_bytes() == name.encode()
    assert not (tmp_path / "etc").exists()


def test_extension_and_size_limits(tmp_path):
    folder = tmp_path / "uploads"
    stored, problem = store_upload(_file(tmp_path, "a.png", b"\x89PNG"), "a.png", folder, max_bytes=1000)
    assert stored is None and ".png" in problem.reason
    stored, problem = store_upload(_file(tmp_path, "b.txt", b"x" * 2000), "b.txt", folder, max_bytes=1000)
    assert stored is None and "limit" in problem.reason
    assert not folder.exists() or not any(folder.iterdir())


def test_same_name_different_content_is_kept_apart(tmp_path):
    folder = tmp_path / "uploads"
    first, _ = store_upload(_file(tmp_path, "a.txt", b"one"), "a.txt", folder, max_bytes=100)
    again, _ = store_upload(_file(tmp_path, "a.txt", b"one"), "a.txt", folder, max_bytes=100)
    other, _ = store_upload(_file(tmp_path, "a.txt", b"two"), "a.txt", folder, max_bytes=100)
    assert first == again and other.name == "a-2.txt" and first.read_bytes() == b"one"


def test_removed_articles_leave_the_index(settings, corpus_copy):
    pipeline.ingest(settings, [corpus_copy])
    before = pipeline.articles(settings)
    gone = before[0]["doc_id"]
    pipeline.remove(settings, [gone])
    assert [a["doc_id"] for a in pipeline.articles(settings)] == [a["doc_id"] for a in before[1:]]
    passages = pipeline.search(settings, before[0]["title"], top_k=20)
    assert passages and gone not in {p.doc_id for p in passages}


def test_scope_combines_outlets_and_articles(settings, corpus_copy):
    pipeline.ingest(settings, [corpus_copy])
    articles = pipeline.articles(settings)
    outlet = next(a["source"] for a in articles if a["source"])
    chosen = pipeline.scope_doc_ids(settings, [outlet], [articles[0]["doc_id"]])
    assert set(chosen) == {a["doc_id"] for a in articles if a["source"] == outlet} | {articles[0]["doc_id"]}
    assert pipeline.scope_doc_ids(settings, [], []) is None
