# The two set-up commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test eval clean

install: $(STAMP)

# Re-installs when pyproject.toml changes. torch goes first so pip takes the pinned CPU build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: install
	$(BIN)/qa ingest --if-missing corpus
	$(BIN)/python app.py

test: install
	$(BIN)/python -m pytest

# The default-corpus gold set with the local model; reports land in eval/reports/.
eval: install
	$(BIN)/qa eval --gold eval/gold.jsonl --corpus corpus --index .qa/eval-index \
		--json eval/reports/gold.json --md eval/reports/gold.md

clean:
	rm -rf $(VENV) .qa .pytest_cache
