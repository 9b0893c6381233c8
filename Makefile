# `make demo` and `make test` set up everything from nothing: a virtualenv, the package, and for the tests the
# system packages they need (rendering itself needs none: the default backend is compiled with numba).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export PYOPENGL_PLATFORM := egl

.PHONY: demo test system-deps clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -c constraints.txt torch==2.13.0
	$(PYTHON) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

# The tests need EGL with Mesa's software driver for the pyrender reference the default renderer is compared
# with, and Debian's chromium for the browser test (Playwright cannot download its own browser here); install
# each only where it is missing.
system-deps:
	@ldconfig -p | grep -q 'libEGL_mesa.so' || { \
	  echo "installing EGL (Mesa) for headless rendering"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q libegl1 libegl-mesa0 libgl1-mesa-dri libgl1; }
	@command -v chromium >/dev/null || { \
	  echo "installing chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

# The web demo on the bundled model: open http://127.0.0.1:7860 (HOST=0.0.0.0 to serve other machines).
HOST ?= 127.0.0.1
PORT ?= 7860
demo: $(STAMP)
	$(VENV)/bin/affectvlm demo --host $(HOST) --port $(PORT)

test: system-deps $(STAMP)
	$(PYTHON) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
