# The two commands of the README:
#   make lab    set everything up on first use, then open the course in JupyterLab
#   make test   set everything up on first use, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Pinned so that every machine gets the same build; override, e.g. TORCH="torch==2.13.0 --index-url ...".
TORCH  ?= torch==2.13.0
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test mutants release bench clean

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/course

test: setup
	$(BIN)/python -m pytest

mutants: setup
	$(BIN)/python -m grader mutants

release: setup
	$(BIN)/python -m grader release

bench: setup
	$(BIN)/python tools/bench_decode.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache
