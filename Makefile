# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# System tools the sandbox and the real-parts tests use. Installed only when missing.
SYSPKGS := iproute2 iptables nftables dpkg-dev \
           nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins-basic

.PHONY: demo test sysdeps venv clean

demo: sysdeps venv
	$(BIN)/python -m saltext.scenario.sandbox.demo

test: sysdeps venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

sysdeps:
	@missing=$$(for p in $(SYSPKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing system packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[tests]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info
