# The two commands of a fresh machine: `make run` (the whole system) and `make test` (the suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup run stop status test lint bench

help:
	@echo "make run    install everything and start the whole system (juntos dev up)"
	@echo "make test   install everything and run the test suite against real servers"
	@echo "make stop | status | lint | bench"

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	@uv sync --frozen --quiet

run: setup
	uv run juntos dev up

stop:
	uv run juntos dev down

status:
	uv run juntos dev status

test: setup
	uv run ruff check .
	uv run pytest

lint: setup
	uv run ruff check .
	uv run ruff format --check .

bench: setup
	uv run python -m bench
