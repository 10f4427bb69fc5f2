# The two commands of the quick start: `make demo` and `make test`.
# Both create .venv idempotently on a fresh machine first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test bench clean train-default browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Pin torch first: an unpinned torch pulls a multi-GB CUDA build (../shared/PLATFORM.md).
	$(PY) -m pip install -q "$(TORCH_PIN)"
	$(PY) -m pip install -q -e ".[test]"
	# LAION-CLAP without its declared dependencies: it pins numpy<2 and pulls training-only packages; the parts its
	# model code imports are in pyproject.toml, and timbre/models/laion_clap_embedder.py contains the rest.
	$(PY) -m pip install -q --no-deps "laion-clap==1.1.7"
	# pesto-pitch pulls torchaudio 2.11, a CUDA build whose native libraries fail on CPU torch; without them it
	# runs in pure-Python mode (../shared/PLATFORM.md). Only removed where the import fails.
	$(PY) -c "import torchaudio" 2>/dev/null || rm -f $(VENV)/lib/python*/site-packages/torchaudio/lib/*.abi3.so
	$(PY) -c "import torchaudio, pesto"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m jobs.demo

# The report test drives Debian's headless Chromium (../shared/PLATFORM.md); installed where apt-get can, else skipped.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || true; \
		fi; \
		command -v chromium >/dev/null || echo "chromium is not installed: the report's browser test will be skipped"; \
	fi

test: $(STAMP) browser
	$(PY) -m pytest -q -ra tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(PY) benchmarks/mi_inpaint_cost.py

clean:
	rm -rf $(VENV) out

# Retrain the committed default bundle from scratch (`timbre train`'s default scale; about 50 minutes on 2 CPU cores,
# docs/models.md).
train-default: $(STAMP)
	$(VENV)/bin/timbre train all --out build/default-bundle --force
	$(PY) -m jobs.ship_default build/default-bundle timbre/models/default
