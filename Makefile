# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs, one line
# per install phase (apt, python); the details go to build/install/*.log, named when a phase fails.
#   make test SALT=3007.16   runs the suite in a second venv (.venv-3007.16) against that Salt;
#                            CI runs the pinned one.
#   make test PYTEST_ARGS='-k drain'   adds pytest arguments (-n 0: one process, no workers).
PYTHON ?= python3
SALT   ?= 3008.4
ifeq ($(SALT),3008.4)
VENV   := .venv
else
VENV   := .venv-$(SALT)
endif
BIN    := $(VENV)/bin
LOGS   := build/install
# What the demo needs: the sandbox's namespaces (iproute2), the firewall lbgate drives
# (iptables), the local apt repo it builds (dpkg-dev), the plugins of its NRPE checks, and the
# NRPE server for /etc/nagios and its nagios user (each host gets its own nrpe.cfg there; no
# NRPE daemon runs, and the apt phase starts no service).
DEMO_PKGS := iproute2 iptables dpkg-dev monitoring-plugins-basic nagios-nrpe-server
# What the tests need besides: nft for lbgate's nftables backend, conntrack for the drain,
# haproxy for the HAProxy sandbox, etcd-server for the two-master sandbox's fleet store,
# prometheus for the metrics sandbox, check_nrpe for nrpe.query, and headless chromium with a
# font for the HTML report's browser test.
TEST_PKGS := nftables conntrack haproxy etcd-server prometheus nagios-nrpe-plugin chromium fonts-dejavu-core
# salt and timelib (C) come as sources: a compiler, and Python's headers and ensurepip where
# $(PYTHON) lacks them (Debian's python3). See tools/python_build_packages.py.
PY_PKGS   := $(shell $(PYTHON) tools/python_build_packages.py)

.PHONY: demo test lint docs sysdeps-demo sysdeps-test venv clean

demo: sysdeps-demo venv
	$(BIN)/python -m saltext.scenario.sandbox.demo

# -n 2 --dist loadfile: two pytest workers; each test module stays on one worker with its
# module-scoped sandbox, and the modules on the session's default sandbox share one worker
# (tests/conftest.py). --durations=15 shows where the time goes.
test: sysdeps-test venv lint docs
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 $(PYTEST_ARGS)

# The same three checks run as pre-commit hooks (.pre-commit-config.yaml); mypy's files and
# strictness are set in pyproject.toml ([tool.mypy]).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The docs site (Sphinx, pages in Markdown) into build/docs; any warning fails the build, and
# --keep-going lists them all first. docs/_ext/step_reference.py writes the step reference
# (docs/reference/steps.md) from the step registry as the build starts.
docs: venv
	$(BIN)/python -m sphinx -W --keep-going -q -b html -d build/docs/.doctrees docs build/docs

sysdeps-demo:
	@$(PYTHON) tools/apt_packages.py --purpose 'the demo' --log $(LOGS)/apt.log $(DEMO_PKGS) $(PY_PKGS)

sysdeps-test:
	@$(PYTHON) tools/apt_packages.py --purpose 'the tests' --log $(LOGS)/apt.log $(DEMO_PKGS) $(TEST_PKGS) $(PY_PKGS)

# Up to date (nothing run) while pyproject.toml, SALT and the installer pins are unchanged.
venv:
	@$(PYTHON) tools/python_env.py --venv $(VENV) --salt $(SALT) --log $(LOGS)/python-$(SALT).log

clean:
	rm -rf .venv .venv-* build *.egg-info src/*.egg-info
