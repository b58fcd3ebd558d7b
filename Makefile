# The two commands of the README: `make serve` and `make test`. Both create .venv once.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
IMAGES := $(patsubst docker_images/%/,%,$(filter-out docker_images/common/,$(wildcard docker_images/*/)))
IMAGE_REQUIREMENTS := $(wildcard docker_images/*/requirements.txt)
# Real users: make venv TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (CPU wheels).
TORCH_INDEX_URL ?=
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
DEMO_MODELS ?= .cache/models
DEMO_TEXT := sentence-transformers/all-MiniLM-L6-v2
DEMO_PINNED := $(DEMO_TEXT),$(DEMO_TEXT):feature-extraction,timm/tiny-demo-classifier

.PHONY: venv serve serve-model test lint typecheck format test-core test-images test-docker clean

$(STAMP): setup.py requirements/torch.txt requirements/dev.txt $(IMAGE_REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX_URL),--extra-index-url $(TORCH_INDEX_URL)) -r requirements/torch.txt
	$(PY) -m pip install --quiet -e ".[testing,docker,dev]" -r requirements/dev.txt $(foreach r,$(filter-out docker_images/common/%,$(IMAGE_REQUIREMENTS)),-r $(r))
	touch $(STAMP)

venv: $(STAMP)

# The gateway on $(HOST):$(PORT), serving the demo models directory (the bundled all-MiniLM-L6-v2
# and a tiny timm classifier) by URL, both loaded at start.
serve: venv
	$(PY) scripts/demo_models.py $(DEMO_MODELS) >/dev/null
	MODELS_DIR=$(DEMO_MODELS) HF_HUB_OFFLINE=1 \
	PINNED_MODELS="$${PINNED_MODELS:-$(DEMO_PINNED)}" \
	$(PY) -m api_inference_community gateway --host $(HOST) --port $(PORT)

# One library container's server for the bundled all-MiniLM-L6-v2 (feature-extraction) on $(HOST):$(PORT).
serve-model: venv
	cd docker_images/sentence_transformers && \
	MODEL_ID="$${MODEL_ID:-$$(../../$(PY) -m api_inference_community bundled-model)}" \
	TASK="$${TASK:-feature-extraction}" HF_HUB_OFFLINE=1 \
	../../$(PY) -m api_inference_community.serve app.main:app --host $(HOST) --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Static types of the core (settings in pyproject.toml).
typecheck: venv
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-core: venv
	$(PY) -m pytest tests $(PYTEST_ARGS)

# Each image is its own app package: its tests run in their own pytest process.
test-images: venv
	@set -e; for image in $(IMAGES); do \
		echo "== docker_images/$$image"; \
		(cd docker_images/$$image && ../../$(PY) -m pytest tests $(PYTEST_ARGS)); \
	done

# Builds every image and runs it on a real Docker engine (tests/docker). The harness uses the
# engine DOCKER_HOST points to, else starts one (scripts/docker_engine.sh, root on Debian) and
# stops it at the end; base image and PyTorch wheelhouse are made once and cached.
test-docker: venv
	$(PY) -m pytest tests/docker -m docker $(PYTEST_ARGS)

test: lint typecheck test-core test-images test-docker

clean:
	rm -rf $(VENV) .pytest_cache
