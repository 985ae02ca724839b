# make docs: build the docs site from the notebooks into docs/ (offline; see README, "Documentation")
VENV ?= .venv

.PHONY: docs
docs:
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e ".[dev]"
	$(VENV)/bin/python tools/build_docs.py --out docs
