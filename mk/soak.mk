# The long variants (marked `soak`, e.g. thousands of refund races): `make test` leaves them out
# (tests/conftest.py deselects them unless -m names them), `make soak` runs only them.
.PHONY: soak
soak: install $(TEST_PREREQS)
	$(BIN)/pytest -m soak
