# reckon — the two commands a newcomer needs are `make demo` and `make test`.
# Both install the Debian packages reckon builds against when they are missing.

SWIFT ?= swift
DEB_PACKAGES := libssh2-1-dev libxml2-dev libsqlite3-dev libzip-dev openssh-server pkg-config unzip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo test deps bench clean

all: build

# Install whatever of DEB_PACKAGES is missing (nothing to do on a prepared machine).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Read the shipped sample day through its specs and show what reckon makes of it.
demo: build
	@./scripts/demo.sh .build/debug/reckon

# Unit, property, corpus and end-to-end tests, then every spec's own examples.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	.build/debug/reckon spec test

# Throughput and memory figures (not part of `make test`). The ingest benchmark measures
# against the sqlite3 shell's .import, so that shell is installed too; the reconcile benchmark
# against pandas and DuckDB, which it installs from PyPI into .build/bench-venv on first use
# (python3 with venv is needed), at two sizes to show its memory stays flat.
bench: deps
	@dpkg-query -W -f='$${Status}' sqlite3 2>/dev/null | grep -q "install ok installed" || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq sqlite3; }
	$(SWIFT) run -c release reckon-bench parse
	$(SWIFT) run -c release reckon-bench ingest
	$(SWIFT) run -c release reckon-bench plan
	$(SWIFT) run -c release reckon-bench reconcile --size 100000 --size 1000000
	$(SWIFT) run -c release reckon-bench settle
	$(SWIFT) build -c release --product reckon
	$(SWIFT) run -c release reckon-bench daemon --partners 10 --files 3 --span-seconds 60

clean:
	rm -rf .build
