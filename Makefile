# The course's commands. `make book` and `make test` do all the set-up themselves.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
SUBMISSIONS ?= submissions
GRADES ?= _build/grades.csv

.PHONY: help venv book chapter test lint unit notebooks book-check exercises grade autograder bench clean clean-cache
.PHONY: launch-notebooks book-student browser-test seed-sweep system-book system-test release-check

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml scripts/make-venv.sh
	@scripts/make-venv.sh
	@touch $@

venv: $(STAMP)  ## Create .venv from the lock file (only when missing or stale)

system-book:  ## Install (or name) the system tools the book needs: Python >= 3.12, Graphviz
	@scripts/prerequisites.sh dot

system-test:  ## Install (or name) the system tools the tests need: also bubblewrap, Chromium, git
	@scripts/prerequisites.sh dot bwrap chromium git

# launch-notebooks runs twice: before the build so the launch buttons find every chapter's
# notebook, after it to paste the values the build computed (glue) into their text.
book: system-book $(STAMP)  ## Execute every chapter and build the HTML book into _build/html
	$(BIN)/python -m coursetools.book launch-notebooks
	$(BIN)/python -m coursetools.book build . -W -n --keep-going
	$(BIN)/python -m coursetools.book launch-notebooks
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

launch-notebooks: $(STAMP)  ## Write book/<chapter>.ipynb (Colab/Binder; values from the last make book) and the exercises' install cells
	$(BIN)/python -m coursetools.book launch-notebooks

release-check: $(STAMP)  ## Fail while _config.yml's repository.url is the placeholder (not in make test)
	$(BIN)/python -m coursetools.book check-release

book-student: $(STAMP)  ## Build the student edition (no solutions) into _build/student/_build/html
	$(BIN)/python -m coursetools.book student-config _build/student/_config.yml
	$(BIN)/python -m coursetools.book build . --config _build/student/_config.yml --path-output _build/student -W -n --keep-going
	@! grep -rlE 'class="[^"]*\bsolution\b' _build/student/_build/html --include='*.html' \
	  || { echo "error: solutions in the student edition (files above)"; exit 1; }
	BOOK_HTML=_build/student/_build/html BOOK_REQUIRED=1 $(BIN)/pytest -m browser -p no:cacheprovider -q tests/test_browser.py
	@echo "The student edition is at file://$(CURDIR)/_build/student/_build/html/index.html"

# Two workers, one file each at a time: the book's pages in one, JupyterLab in the other.
browser-test: $(STAMP)  ## Every page of the built book, and two notebooks in JupyterLab, in headless Chromium (after make book)
	BOOK_REQUIRED=1 $(BIN)/pytest -m browser -p no:cacheprovider -n 2 --dist loadfile \
	  tests/test_browser.py tests/test_jupyterlab.py tests/test_myst_markdown.py

chapter: $(STAMP)  ## Execute and render one chapter: make chapter CHAPTER=book/pooling.md
	@test -n "$(CHAPTER)" || { echo "usage: make chapter CHAPTER=book/<name>.md"; exit 2; }
	$(BIN)/jupyter-book build $(CHAPTER)

lint: $(STAMP)  ## ruff on the package, tests, tools and notebooks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check companion coursetools tests

# Tests run in parallel, one worker per core (at most 4); a worker takes a whole file at a
# time, so a file's shared fixtures (graded submissions, compiled models) are built once.
PARALLEL := -n auto --maxprocesses 4 --dist loadfile

unit: $(STAMP)  ## Unit, property, slow (MCMC vs exact) and grading tests
	$(BIN)/pytest -m "not browser" $(PARALLEL) tests

# The inner loop: no MCMC (slow/mcmc marks; the two files that run the samplers themselves),
# no grading (slow), no book build. Tests, not files, go to the workers, and an idle worker
# takes over queued tests (worksteal): these files share no costly fixture, and one of
# them (the mutation catalogues) is a third of the work.
.PHONY: test-fast doctest
test-fast: lint  ## Inner loop (budget 3 min, make bench): lint, then the unit tests without MCMC, grading or book
	$(BIN)/pytest -m "not slow and not browser and not mcmc" -p no:cacheprovider -q \
	  -n auto --maxprocesses 4 --dist worksteal \
	  --ignore=tests/test_sampling.py --ignore=tests/test_sampling_compiled.py tests

doctest: $(STAMP)  ## Run the Examples sections of the companion's docstrings
	$(BIN)/pytest --doctest-modules -p no:cacheprovider -q companion

notebooks: $(STAMP)  ## Validate the exercise and solution notebooks with nbval
	COMPANION_FAST=1 $(BIN)/pytest --nbval-lax $(PARALLEL) -p no:cacheprovider exercises solutions

test: system-test lint unit doctest notebooks book browser-test  ## Everything: lint, unit tests, doctests, nbval, grading checks, book build, browser
	@echo "make test: all checks passed"

exercises: $(STAMP)  ## Regenerate exercises/ and solutions/ from the masters in assignments/
	$(BIN)/python -m coursetools.exercises

grade: $(STAMP)  ## Grade SUBMISSIONS=<folder or .zip export> into GRADES (default _build/grades.csv) and its gradebook, feedback, summary
	$(BIN)/python -m coursetools.grading $(SUBMISSIONS) --output $(GRADES)

autograder: $(STAMP)  ## Write a Gradescope autograder zip per assignment into _build/gradescope/<name>.zip
	$(BIN)/python -m coursetools.grading.gradescope build --output-dir _build/gradescope

seed-sweep: $(STAMP)  ## Rerun every MCMC test and graded MCMC answer over SEEDS=20 fresh seeds
	$(BIN)/python -m coursetools.seed_sweep --seeds $${SEEDS:-20}

bench: $(STAMP)  ## Print a table of build, chapter, test and sampler timings
	$(BIN)/python -m coursetools.bench

clean:  ## Remove the built book (keeps the execution cache)
	rm -rf _build/html _build/jupyter_execute

clean-cache:  ## Remove the built book and the execution cache
	rm -rf _build
