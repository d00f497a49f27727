import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.config import ConfigError, Settings, env_name, load_settings
from qa.evaluate import fingerprint


def test_defaults():
    settings = load_settings()
    assert settings == Settings()
    assert settings.index_dir == Path(".qa/index")


def test_toml_then_env_then_overrides(tmp_path, monkeypatch):
    toml = tmp_path / "qa.toml"
    toml.write_text('top_k = 9\nhybrid = false\nindex_dir = "from-toml"\n')
    monkeypatch.setenv("QA_CONFIG", str(toml))
    assert load_settings().top_k == 9
    assert load_settings().hybrid is False
    monkeypatch.setenv("QA_TOP_K", "3")
    monkeypatch.setenv("QA_HYBRID", "yes")
    settings = load_settings(index_dir=tmp_path / "flag")
    assert (settings.top_k, settings.hybrid, settings.index_dir) == (3, True, tmp_path / "flag")


@pytest.mark.parametrize("name,value", [("QA_TOP_K", "many"), ("QA_HYBRID", "maybe"), ("QA_CHUNK_SIZE", "-5")])
def test_bad_env_values_name_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_unknown_toml_key_is_an_error(tmp_path, monkeypatch):
    toml = tmp_path / "qa.toml"
    toml.write_text("topk = 3\n")
    monkeypatch.setenv("QA_CONFIG", str(toml))
    with pytest.raises(ConfigError, match="unknown setting 'topk'"):
        load_settings()


def test_overlap_must_be_smaller_than_chunk(monkeypatch):
    monkeypatch.setenv("QA_CHUNK_OVERLAP", "512")
    with pytest.raises(ConfigError, match="chunk_overlap"):
        load_settings()


@pytest.mark.parametrize("name,value,rule", [
    ("top_k", 0, "at least 1"),
    ("candidates", 0, "at least 1"),
    ("chunk_size", 8, "at least 16"),
    ("chunk_overlap", -1, "at least 0"),
    ("near_duplicate", 0.0, "greater than 0 and at most 1"),  # 0 would fold every passage into one
    ("near_duplicate", 1.5, "greater than 0 and at most 1"),
    ("min_similarity", -1.5, "between -1 and 1"),
    ("verify_min_word_share", 1.5, "between 0 and 1"),
    ("attribution_min_similarity", 0.0, "greater than 0 and at most 1"),
    ("temperature", -1.0, "between 0 and 2"),
    ("llm_timeout", 0.0, "greater than 0"),
    ("llm_context", 255, "at least 256"),
    ("port", 0, "between 1 and 65535"),
    ("port", 65536, "between 1 and 65535"),
    ("llm", "gpt", "one of 'local', 'openai'"),
])
def test_out_of_bounds_values_are_one_line_naming_the_setting_and_env_var(name, value, rule):
    with pytest.raises(ConfigError) as error:
        Settings(**{name: value})
    assert str(error.value) == f"{name} must be {rule}, got {value!r} ({env_name(name)})"


@pytest.mark.parametrize("name,value", [
    ("top_k", 1), ("chunk_overlap", 0), ("header_tokens", 0), ("vector_weight", 0), ("near_duplicate", 1),
    ("near_duplicate", 0.01), ("min_similarity", -1), ("min_similarity", 1), ("verify_min_similarity", 0),
    ("attribution_min_word_share", 1), ("temperature", 0), ("temperature", 2), ("llm_retries", 0),
    ("llm_context", 256), ("llm_threads", 0), ("port", 1), ("port", 65535), ("llm", "openai"),
    ("yes_no_bias", -3.5), ("yes_no_refusal_margin", -1),
])
def test_values_at_the_edges_are_accepted(name, value):
    assert getattr(Settings(**{name: value}), name) == value


def test_overlap_just_under_the_chunk_size_is_accepted():
    assert Settings(chunk_size=16, chunk_overlap=15).chunk_overlap == 15
    with pytest.raises(ConfigError, match=r"^chunk_overlap must be smaller than chunk_size \(16\), got 16 "):
        Settings(chunk_size=16, chunk_overlap=16)


@pytest.mark.parametrize("name,value,kind", [
    ("top_k", 6.0, "a whole number"), ("top_k", True, "a whole number"), ("temperature", "0.5", "a number"),
    ("temperature", False, "a number"), ("hybrid", 1, "true or false"), ("index_dir", 3, "a path"),
    ("host", 8080, "text"),
])
def test_values_of_the_wrong_type_are_rejected(name, value, kind):
    with pytest.raises(ConfigError, match=f"^{name} must be {kind}, got .* \\({env_name(name)}\\)$"):
        Settings(**{name: value})


def test_ints_pass_as_floats_and_text_as_paths():
    settings = Settings(temperature=1, index_dir="elsewhere")
    assert type(settings.temperature) is float and settings.index_dir == Path("elsewhere")
    assert settings == Settings(temperature=1.0, index_dir=Path("elsewhere"))
    assert hash(settings) == hash(Settings(temperature=1.0, index_dir=Path("elsewhere")))


def test_replace_is_checked_too():
    with pytest.raises(ConfigError, match=r"^top_k must be at least 1, got 0 \(QA_TOP_K\)$"):
        dataclasses.replace(Settings(), top_k=0)


def test_a_bad_value_names_where_it_was_set(tmp_path, monkeypatch):
    toml = tmp_path / "qa.toml"
    toml.write_text("near_duplicate = 0\n")
    monkeypatch.setenv("QA_CONFIG", str(toml))
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == ("near_duplicate must be greater than 0 and at most 1, got 0.0 (QA_NEAR_DUPLICATE), "
                                f"set in {toml}")

    toml.write_text("top_k = 2.5\n")
    with pytest.raises(ConfigError, match=f"^top_k must be a whole number, got 2.5 \\(QA_TOP_K\\), set in {toml}$"):
        load_settings()
    monkeypatch.setenv("QA_TOP_K", "0")
    with pytest.raises(ConfigError, match=r"^top_k must be at least 1, got 0 \(QA_TOP_K\), set in the environment$"):
        load_settings()
    with pytest.raises(ConfigError, match=r"^port must be between 1 and 65535, got 0 \(QA_PORT\), set on the command"):
        load_settings(top_k=3, port=0)


def test_negative_logit_gaps_are_accepted_from_the_environment(monkeypatch):
    monkeypatch.setenv("QA_YES_NO_BIAS", "-1.5")
    assert load_settings().yes_no_bias == -1.5


def test_the_eval_fingerprint_records_every_setting_and_hides_the_password(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("")
    manifest = SimpleNamespace(articles={}, chunk_stamp="", embedding="", chunking="")
    settings = Settings(verify_min_similarity=0.3, auth="ana:s3cret")
    recorded = fingerprint(gold, settings, manifest, None)["settings"]
    assert list(recorded) == [f.name for f in dataclasses.fields(Settings)]
    assert (recorded["verify_min_similarity"], recorded["verify_min_word_share"]) == ("0.3", "0.5")
    assert (recorded["attribution_min_similarity"], recorded["attribution_min_word_share"]) == ("0.55", "0.75")
    assert recorded["auth"] == "ana:***"


def test_every_setting_is_documented_in_docs_settings():
    settings_page = (Path(__file__).resolve().parent.parent / "docs" / "settings.md").read_text()
    missing = [f.name for f in dataclasses.fields(Settings) if f"`QA_{f.name.upper()}`" not in settings_page]
    assert missing == []
