# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs.
#   make test SALT=3007.16   runs the suite in a second venv (.venv-3007.17) against that Salt;
#                            CI runs the pinned one.
PYTHON ?= python3
SALT   ?= 3008.4
ifeq ($(SALT),3008.4)
VENV   := .venv
else
VENV   := .venv-$(SALT)
endif
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# System tools the sandbox and the real-parts tests use. Installed only when missing.
# conntrack and haproxy: the firewall drain and the HAProxy sandbox; chromium (headless) and a
# font render the HTML report in its integration test.
SYSPKGS := iproute2 iptables nftables conntrack haproxy dpkg-dev \
           nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins-basic \
           chromium fonts-dejavu-core

.PHONY: demo test lint sysdeps venv clean

demo: sysdeps venv
	$(BIN)/python -m saltext.scenario.sandbox.demo

test: sysdeps venv lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sysdeps:
	@missing=$$(for p in $(SYSPKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing system packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

# The extension allows salt>=3007,<3009; the test environment pins one release.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[tests,lint]' 'salt==$(SALT)'
	touch $@

clean:
	rm -rf .venv .venv-* build *.egg-info src/*.egg-info
