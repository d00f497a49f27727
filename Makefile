# The set-up commands (see README): `make demo`, `make test` (quick tier) and `make test-all` (everything).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# llama-cpp-python compiles llama.cpp on install. A native build uses every instruction set the
# CPU reports, AMX included, and crashed (SIGSEGV) in a sandbox that reports AMX but does not allow
# it; so the target is explicit: AVX2, plus AVX-512 where the CPU has it (23% faster prompt reading
# on a 2-core Xeon: 9.9 s instead of 12.9 s for a 664-token prompt and 32 tokens out).
AVX512 := $(shell grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && grep -qw avx512_bf16 /proc/cpuinfo && \
                  grep -qw avx512_vbmi /proc/cpuinfo && echo ON || echo OFF)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=$(AVX512) -DGGML_AVX512_VBMI=$(AVX512) -DGGML_AVX512_VNNI=$(AVX512) -DGGML_AVX512_BF16=$(AVX512)

.PHONY: install browser demo test test-all eval bench clean

install: $(STAMP)

# Re-installs when pyproject.toml changes. torch goes first so pip takes the pinned CPU build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,bench,server]'
	@touch $(STAMP)

demo: install
	$(BIN)/qa ingest --if-missing corpus
	$(BIN)/python app.py

# The UI's browser test drives Debian's chromium (Playwright never downloads a browser here).
# Installing it needs root or passwordless sudo; without either the browser test says why it skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	  if [ "$$SUDO" != none ]; then echo "installing chromium (apt-get) for the browser test"; \
	    $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q chromium >/dev/null 2>&1; } || \
	    echo "could not install chromium; the browser test will be skipped"; \
	  else echo "chromium missing and no root/sudo to install it; the browser test will be skipped"; fi; }

# The quick tier, for every change (under 10 minutes on 2 cores): still end to end (real Chroma, MiniLM,
# local-model answers, the CLI, one app start); leaves out the tests marked full, dataset or browser.
QUICK := not (full or dataset or browser)
test: install
	$(BIN)/python -m pytest -m "$(QUICK)"

# Everything: MultiHop-RAG dataset, servers, browser, load, SIGKILL, bench smoke (what CI runs).
# With CI=true a test that would skip for want of chromium, the dataset or a server fails instead.
test-all: install browser
	$(BIN)/python -m pytest --durations=15

# The gold set (default corpus plus the dated articles in eval/articles/) and the natural-question set
# (MultiHop-RAG's articles) with the local model; reports land in eval/reports/.
eval: install
	$(BIN)/qa eval --gold eval/gold.jsonl --corpus corpus --corpus eval/articles --index .qa/eval-index \
		--json eval/reports/gold.json --md eval/reports/gold.md
	$(BIN)/qa eval --gold eval/natural.jsonl --corpus $(MULTIHOP)/corpus.jsonl --index .qa/multihop-index \
		--json eval/reports/natural.json --md eval/reports/natural.md

# Ours against a stock llama-index pipeline on MultiHop-RAG, and the scaling curve (about an hour on
# 2 cores); results in bench/. SCALE_ARTICLES sets the base of the 1x/4x/16x runs.
SHARED ?= ../shared
MULTIHOP := $(SHARED)/datasets/multihop_rag
SCALE_ARTICLES ?= 100
bench: install
	$(BIN)/qa bench --corpus $(MULTIHOP)/corpus.jsonl --gold $(MULTIHOP)/dev.jsonl --scale-articles $(SCALE_ARTICLES)

clean:
	rm -rf $(VENV) .qa .pytest_cache
