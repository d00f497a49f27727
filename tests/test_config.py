from pathlib import Path

import pytest

from qa.config import ConfigError, Settings, load_settings


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
    monkeypatch.setenv("QA_CHUNK_OVERLAP", "500")
    with pytest.raises(ConfigError, match="chunk_overlap"):
        load_settings()


def test_every_setting_is_documented_in_the_readme():
    from dataclasses import fields

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [f.name for f in fields(Settings) if f"`QA_{f.name.upper()}`" not in readme]
    assert missing == []
