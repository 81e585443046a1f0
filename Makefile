# The two commands of the README:
#   make lab    set everything up on first use, then open the course in JupyterLab
#   make test   set everything up on first use, then run the whole test suite
# And for a class hub (docs/jupyterhub.md), as root:
#   make hub-setup   the hub's proxy (npm) and an environment every user can run (HUB_VENV)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Pinned so that every machine gets the same build; override, e.g. TORCH="torch==2.13.0 --index-url ...".
TORCH  ?= torch==2.13.0
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The class hub's environment: outside the checkout, made from the system's Python (docs/jupyterhub.md).
HUB_VENV ?= /opt/aiecourse-hub/venv

.PHONY: setup lab test test-fast test-chapter lint mutants release bench clean hub-setup

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

lab: setup
	mkdir -p .exchange
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/course

test: setup
	$(BIN)/python -m pytest

# Everything but the hub, browser, Colab and slow tests: a few minutes. One chapter's tests, all of them:
#   make test-chapter CHAPTER=02_attention
test-fast: setup
	$(BIN)/python -m pytest -m "not (hub or browser or colab or slow)"

test-chapter: setup
	$(BIN)/python -m pytest --chapter $(CHAPTER) tests/test_notebooks.py tests/test_mutants.py tests/test_contract.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

mutants: setup
	$(BIN)/python -m grader mutants

release: setup
	$(BIN)/python -m grader release

bench: setup
	$(BIN)/python tools/bench_decode.py

hub-setup:
	HUB_VENV=$(HUB_VENV) TORCH="$(TORCH)" bash tools/hub/setup.sh

clean:
	rm -rf $(VENV) artifacts .pytest_cache .hub
