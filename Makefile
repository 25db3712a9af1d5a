# The course's commands. `make book` and `make test` do all the set-up themselves.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
SUBMISSIONS ?= submissions
GRADES ?= _build/grades.csv

.PHONY: help venv book chapter test lint unit notebooks book-check exercises grade bench clean clean-cache

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml scripts/make-venv.sh
	@scripts/make-venv.sh
	@touch $@

venv: $(STAMP)  ## Create .venv from the lock file (only when missing or stale)

book: $(STAMP)  ## Execute every chapter and build the HTML book into _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

chapter: $(STAMP)  ## Execute and render one chapter: make chapter CHAPTER=book/pooling.md
	@test -n "$(CHAPTER)" || { echo "usage: make chapter CHAPTER=book/<name>.md"; exit 2; }
	$(BIN)/jupyter-book build $(CHAPTER)

lint: $(STAMP)  ## ruff on the package, tests, tools and notebooks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check companion coursetools tests

unit: $(STAMP)  ## Unit, property, slow (MCMC vs exact) and grading tests
	$(BIN)/pytest tests

notebooks: $(STAMP)  ## Validate the exercise and solution notebooks with nbval
	COMPANION_FAST=1 $(BIN)/pytest --nbval-lax -p no:cacheprovider exercises solutions

test: lint unit notebooks book  ## Everything: lint, unit tests, nbval, grading checks, book build
	@echo "make test: all checks passed"

exercises: $(STAMP)  ## Regenerate exercises/ and solutions/ from the masters in assignments/
	$(BIN)/python -m coursetools.exercises

grade: $(STAMP)  ## Grade every notebook in SUBMISSIONS=<dir> into GRADES (default _build/grades.csv)
	$(BIN)/python -m coursetools.grading $(SUBMISSIONS) --output $(GRADES)

bench: $(STAMP)  ## Print a table of build, chapter, test and sampler timings
	$(BIN)/python -m coursetools.bench

clean:  ## Remove the built book (keeps the execution cache)
	rm -rf _build/html _build/jupyter_execute

clean-cache:  ## Remove the built book and the execution cache
	rm -rf _build
