# What `make bench` needs besides the virtualenv: wrk (Debian's package) to load servers from
# a separate process, and the local Postgres for the Postgres figures (postgres-up, postgres.mk).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: bench-deps
bench-deps: postgres-up
	@command -v wrk >/dev/null || { \
		echo "installing wrk (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; \
	}
