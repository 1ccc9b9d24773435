# Browser tests and the pages' vendored JS. `web-browser` installs Debian's chromium (the
# tests drive it with Playwright) and ffmpeg (the scanner test's fake camera) when missing;
# `web-assets` installs jsQR, uPlot, qrcode-generator and axe-core from the npm registry as
# pinned in web/package-lock.json and copies them into web/vendor/, where the pages load them.
TEST_PREREQS += web-browser web-assets

WEB_NODE_STAMP := web/node_modules/.gymgate-stamp
WEB_VENDOR_FILES := web/vendor/jsQR.js web/vendor/axe.min.js web/vendor/uPlot.esm.js \
	web/vendor/uPlot.min.css web/vendor/qrcode.js

.PHONY: web-assets web-browser
web-assets: $(WEB_VENDOR_FILES)

$(WEB_NODE_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/vendor/jsQR.js: $(WEB_NODE_STAMP)
	@mkdir -p web/vendor
	cp web/node_modules/jsqr/dist/jsQR.js $@

web/vendor/axe.min.js: $(WEB_NODE_STAMP)
	@mkdir -p web/vendor
	cp web/node_modules/axe-core/axe.min.js $@

# The operator page's charts: uPlot's ES module and its stylesheet.
web/vendor/uPlot.esm.js web/vendor/uPlot.min.css: web/vendor/%: $(WEB_NODE_STAMP)
	@mkdir -p web/vendor
	cp web/node_modules/uplot/dist/$* $@

# The member page's bound-pass QR, drawn in the page (an ES module without imports).
web/vendor/qrcode.js: $(WEB_NODE_STAMP)
	@mkdir -p web/vendor
	cp web/node_modules/qrcode-generator/dist/qrcode.mjs $@

web-browser:
	@missing=""; \
	command -v chromium >/dev/null || missing="chromium fonts-liberation"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (apt-get) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi
