# leadloop: `make demo` shows it without Slack, `make run` starts the bot, `make test` runs the
# whole suite, `make bench` measures. Each target creates .venv and installs the project first
# when needed; after that every command is `.venv/bin/leadloop ...`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs on SQLite always and on PostgreSQL at this URL; `make test TEST_DATABASE_URL=`
# runs it on SQLite only.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: install demo pictures screenshots run test browser lint format bench bench-goals postgres clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Slack-free: a quarter of made-up data in data/demo.db and its weekly chart, then (in a
# terminal) the playground: the real app against a stand-in for Slack, in the browser, until
# Ctrl-C. Not in a terminal (CI's quick start pipes the output), the chart alone.
demo: install
	$(BIN)/leadloop demo
	@if [ -t 1 ]; then $(BIN)/leadloop playground --open; else \
		echo "leadloop: to try the app itself, run $(BIN)/leadloop playground"; fi

run: install
	$(BIN)/leadloop run

# The README's picture of the weekly chart, from the demo data of a fixed week (a test checks
# that it matches what the code draws today).
PICTURE_WEEK := 2026-W47
pictures: install
	$(BIN)/leadloop demo --week $(PICTURE_WEEK) --database-url sqlite:///./data/pictures.db \
		--out docs/images/weekly-report.png

# The README's screenshots of the playground (docs/images/playground-*.png), taken in
# headless Chromium at a fixed time, so they change only when what users see changes.
# Messages show emoji: Debian's emoji font is installed first when it can be (as root).
screenshots: install browser
	@if command -v fc-list >/dev/null && [ -z "$$(fc-list :charset=1f4e5)" ] && [ "$$(id -u)" = 0 ]; \
	then apt-get install -y -q fonts-noto-color-emoji >/dev/null || true; fi
	$(BIN)/python -m bot.playground.screenshots docs/images

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint postgres browser
	$(BIN)/pytest

# Debian's headless Chromium for the playground's browser tests, installed when it can be
# (as root); without it those tests are skipped and say why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && apt-get install -y -q chromium chromium-driver >/dev/null; \
		then echo "make: installed chromium for the browser tests"; \
		else echo "make: chromium is not installed; the browser tests will be skipped"; fi; \
	fi

# Every benchmark (about 10 minutes on the 2-core development machine); `make bench-goals`
# runs only issue 12's: /rate-lead ack latency, ack to post and throughput (about 6).
bench: install postgres
	$(BIN)/python -m bench

bench-goals: install postgres
	$(BIN)/python -m bench ack_latency throughput

# Starts the local PostgreSQL cluster when the suite needs it and it is not running.
postgres: install
	@if [ -n "$(TEST_DATABASE_URL)" ]; then bash .ci/ensure-postgres; fi

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis
