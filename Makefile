# Set-up, tests and the demo.  `make test` and `make demo` each run the
# idempotent `make install` first, so either works alone on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
NATIVE_PREFIX := $(CURDIR)/scl/_native
FFI_INPUTS := $(wildcard native/src/*.c native/src/*.h native/include/*.h) native/build_ffi.py \
	$(wildcard fairshare/native/*.c fairshare/native/*.h) fairshare/native/build_fill.py

.PHONY: install system bpf native test test-c test-py demo experiments experiments-quick clean

install: system $(VENV)/.deps bpf native

# Debian packages (as root).
system:
	@scripts/install-system.sh

# tracefs, kernel headers for bcc, and bcc made importable from the venv.
bpf: $(VENV)/.deps
	@if [ -x scripts/setup-bpf.sh ]; then scripts/setup-bpf.sh $(VENV); fi

$(VENV)/.deps: pyproject.toml setup.py Makefile
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel 'cffi>=1.16'
	$(VPY) -m pip install -q --no-build-isolation -e '.[test,ray]'
	@touch $@

# libscl.so, libscl-preload.so, scl.h and scl.pc for C programs, then the
# cffi extension the Python package uses.
native: $(VENV)/.deps scl/.ffi-built
	@$(MAKE) -s -C native install PREFIX=$(NATIVE_PREFIX)

scl/.ffi-built: $(FFI_INPUTS) $(VENV)/.deps
	$(VPY) setup.py -q build_ext --inplace
	@touch $@

test: install
	$(MAKE) test-c
	$(MAKE) test-py

test-c:
	@$(MAKE) -s -C native test

test-py:
	$(VPY) -m pytest -q tests

demo: install
	$(VPY) -m experiments.demo

# The papers' key results rerun here: experiments/out/report.md and report.html.
experiments: install
	$(VPY) -m experiments.run

experiments-quick: install
	$(VPY) -m experiments.run --quick

clean:
	@$(MAKE) -s -C native clean
	rm -rf build scl/_native scl/.ffi-built scl/_ffi*.so scl/_ffi.c fairshare/_fill*.so fairshare/_fill.c *.egg-info
