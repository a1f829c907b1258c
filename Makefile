# make test: lint, type-check and the whole test suite.  make demo: the main job, end to end.
# Both create .venv on first use and install what they need; only python3 and make are assumed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck differential-packages pytest demo demo-webhook bench wheel clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: lint typecheck differential-packages pytest

# Segment's own packages, for the differential test (tests/differential); pinned by its lock file.
DIFF := tests/differential
differential-packages:
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		test -d $(DIFF)/node_modules/@segment/actions-core || npm ci --prefix $(DIFF) --no-audit --no-fund --silent; \
	else echo "node not found: differential tests skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" sh tools/typecheck

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The main job: the example events to Adobe Target, played against the local sandbox.
# It shows profiles updated, one visitor Target has no profile for and one value too long,
# so replay exits 1 by design; 2 (a usage or config error) would fail the target.
demo: $(STAMP)
	@mkdir -p .destkit
	$(BIN)/destkit replay examples/events.jsonl --config examples/adobe-target.yaml --sandbox \
		--report .destkit/demo-report.json; status=$$?; \
	echo "report: .destkit/demo-report.json (exit $$status: 1 means some events failed or were invalid, as intended here)"; \
	test $$status -le 1

demo-webhook: $(STAMP)
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python benchmarks/delivery.py
	$(BIN)/python benchmarks/languages.py
	$(BIN)/python benchmarks/replay.py
	$(BIN)/python benchmarks/ledger_cost.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/scaleout.py

# destkit is on no package index: plugins install it from this wheel (docs/plugins.md).
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	@ls dist/destkit-*.whl

clean:
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info $(DIFF)/node_modules
