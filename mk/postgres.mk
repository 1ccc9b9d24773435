# Postgres for the test suite: the machine's local server (127.0.0.1:5432, user postgres,
# trust auth). Start it when it is installed but down; the suite makes its own database.
TEST_PREREQS += postgres-up

.PHONY: postgres-up
postgres-up:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "starting the local Postgres cluster"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -n1) main start || true; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
