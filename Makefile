# portwarden.ports: everything a fresh Debian 12 machine (as root) needs.
#   make demo   enforce and audit a port policy on a local fleet of containers
#   make test   unit, real-kernel integration, sanity, lint and molecule tests
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
PY          := $(VENV)/bin/python
BUILD       := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
COLL_LINK   := $(COLLECTIONS)/ansible_collections/portwarden/ports
STAMPS      := $(BUILD)/stamps
APT_PACKAGES := podman runc debootstrap nftables iptables nmap iproute2 procps \
                openssh-client openssh-server rsync chromium python3-venv shellcheck \
                prometheus prometheus-node-exporter

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export CONTAINERS_CONF := $(CURDIR)/tests/images/containers.conf
export ANSIBLE_NOCOWS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help deps apt venv link images unit integration sanity lint molecule test demo demo-clean bench build clean

help:
	@echo "make demo   - set up, start a 3-host container fleet, enforce + audit, report"
	@echo "make test   - set up, then unit, integration, sanity, lint and molecule tests"
	@echo "make bench  - benchmarks (not part of make test)"

# ---------------------------------------------------------------- set-up
$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@# policy-rc.d keeps the install from starting daemons (sshd) on this machine.
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  made=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; rc=$$?; \
	  [ -z "$$made" ] || rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi
	@touch $@

$(STAMPS)/venv: requirements-dev.txt
	@mkdir -p $(STAMPS)
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

link:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

apt: $(STAMPS)/apt
venv: $(STAMPS)/venv
deps: apt venv link

# Local container images (debootstrap + podman import; reused when current).
images: deps
	bash tests/images/build.sh

# ---------------------------------------------------------------- tests
unit: deps
	$(PY) -m pytest -q tests/unit

integration: deps images
	$(PY) -m pytest -q tests/integration

sanity: deps
	bash tests/utils/sanity.sh

lint: deps
	cd $(CURDIR) && $(VENV)/bin/ansible-lint --profile production --offline

molecule: deps
	bash tests/utils/molecule.sh

test: deps images unit integration sanity lint molecule

# ---------------------------------------------------------------- main job
demo: deps
	bash demo/run.sh

demo-clean:
	bash demo/clean.sh

bench: deps
	bash benchmarks/run.sh

build: deps
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD)

clean:
	rm -rf $(BUILD) tests/output
