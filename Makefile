# seqcnn — set-up, demo and tests. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup demo preset presets test lint format bench clean bedtools chromium slurm

setup: $(VENV)/.installed bedtools

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@# numba compiles modisco-lite's and memelite's kernels on first use in an environment and
	@# caches them on disk (about 2 min on 2 cores): here, once, not in the first run's rules
	$(BIN)/python -m seqcnn.interpret.warm
	touch $@

# bedtools is a binary, not a Python package: apt-get it when we can, else say how.
bedtools:
	@if command -v bedtools >/dev/null 2>&1; then \
		echo "bedtools: $$(bedtools --version)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bedtools; \
	else \
		echo "bedtools is missing. Install it with one of:" >&2; \
		echo "  conda install -c bioconda bedtools" >&2; \
		echo "  sudo apt-get install -y bedtools" >&2; \
		exit 1; \
	fi

# The report test opens the page in headless Chromium, as a person would.
chromium:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium: $$(chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "chromium is missing (needed by the report test). Install it with:" >&2; \
		echo "  sudo apt-get install -y chromium chromium-driver" >&2; \
		exit 1; \
	fi

demo: setup
	$(BIN)/snakemake --cores $(CORES)

# a published or textbook analysis: make preset PRESET=protein_ss (config/presets/*.yaml)
PRESET ?= protein_ss
preset: setup
	$(BIN)/snakemake --cores $(CORES) --configfile config/presets/$(PRESET).yaml \
		--replace-workflow-config

# every preset in turn (several hours on 2 CPU cores; see the README for each one's time)
presets: setup
	for p in config/presets/*.yaml; do \
		$(BIN)/snakemake --cores $(CORES) --configfile $$p --replace-workflow-config || exit 1; \
	done

# every tier, two tests at a time (pytest-xdist; a file whose tests share a Snakemake run
# is one xdist_group, run by one worker). --no-loadscope-reorder keeps the order
# tests/conftest.py gives the work (longest first); --durations lists where the time went.
test: setup chromium
	$(BIN)/pytest -m '' -n 2 --dist loadgroup --no-loadscope-reorder --durations=40

lint: setup
	$(BIN)/ruff check seqcnn scripts tests benchmarks
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules

format: setup
	$(BIN)/snakefmt Snakefile rules
	$(BIN)/ruff check --fix seqcnn scripts tests benchmarks

# a single-node SLURM on this machine (root + apt-get); tests/test_slurm.py starts it too
slurm:
	bash tests/slurm/start_slurm.sh

bench: setup
	$(BIN)/python benchmarks/prepare.py

clean:
	rm -rf results resources .snakemake
