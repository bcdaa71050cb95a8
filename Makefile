# callqa — the first two targets are the README's first two commands.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test test-all models notebooks calls lint bench-asr bench-latency bench-models bench-search clean

demo: $(STAMP) models  ## set up and run the whole pipeline on the bundled calls (embedded Kafka + ES)
	$(BIN)/callqa demo

test: $(STAMP) models  ## set up and run the default test suite (not the slow tests)
	$(BIN)/pytest -m "not slow" -q

test-all: $(STAMP) models  ## every test, slow ones included
	$(BIN)/pytest -q

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

models: $(STAMP)  ## train and publish the classifiers if none is published yet
	$(BIN)/callqa train --if-missing

notebooks: $(STAMP) models  ## run the three notebooks headless (each publishes a model version)
	$(BIN)/python tools/run_notebooks.py

lint: $(STAMP)
	$(BIN)/ruff check streams models tests bench tools
	$(BIN)/ruff format --check streams models tests bench tools

# Regenerate the sample calls from calls/scripts (needs the TTS extra, ~1 GB; not needed to run).
calls: $(VENV)-tts/.installed
	$(VENV)-tts/bin/python tools/make_calls.py

$(VENV)-tts/.installed: tools/requirements-tts.txt
	$(PYTHON) -m venv $(VENV)-tts
	$(VENV)-tts/bin/pip install --quiet -r tools/requirements-tts.txt
	touch $@

bench-asr: $(STAMP)
	$(BIN)/python bench/asr_accuracy.py

bench-latency: $(STAMP) models  ## ASR latency and capacity at 1, 2, 4, 8 real-time calls (~10 min)
	$(BIN)/python bench/asr_latency.py

bench-models: $(STAMP) models  ## intent / complaint-risk evaluation: held-out, sample calls through ASR, real text
	$(BIN)/python bench/models_eval.py

bench-search: $(STAMP)
	$(BIN)/python bench/search_speed.py

clean:
	rm -rf .callqa .pytest_cache .ruff_cache
