# The clock tests (tests/e2e/test_clocks.py) run one `gymgate serve` under libfaketime:
# `clock-tools` installs Debian's faketime when it is missing.
TEST_PREREQS += clock-tools

.PHONY: clock-tools
clock-tools:
	@command -v faketime >/dev/null || { \
		echo "installing faketime (apt-get) for the clock tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends faketime >/dev/null; \
	}
