# `make demo` and `make test` set up everything from nothing: a virtualenv, the package, and for the tests the
# system packages they need (rendering itself needs none: the default backend is compiled with numba).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export PYOPENGL_PLATFORM := egl

.PHONY: demo test system-deps clean default-model

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

# The bundled default model from nothing, in one command: synthetic faces, a base run, fine-tuning on blended
# recipes (two rounds), the 4D temporal head, the hard held-out evaluation with its baselines, the card. 59 min
# on a 2-core CPU, timed end to end from a clean clone (hub_card/default_model/README.md gives each step and its
# time). Every step's output is a target, so a stopped run goes on from the last finished step (a data set is
# done when its manifest is written; the folder of a stopped one is written again). It replaces
# affectvlm/assets/default_model.
SYNTHETIC = $(PYTHON) scripts/make_synthetic.py --layout folder --texture-size 0 --workers 2 --overwrite
TRAINING_FACES = $(SYNTHETIC) --subjects 300 --subject-seed-offset 1000 --recipes train
TRAIN = $(PYTHON) scripts/train.py --layout folder --folds 10 --labels anger,disgust,fear,happiness,sadness,surprise,neutral \
  --render-mode normals --image-size 96 --batch-size 48 --cache-dir data/cache --render-workers 2 \
  --loss-weights contrastive=1,triplet=1,infonce=1,cross_entropy=1 --view-fusion attention \
  --eval-every 200 --checkpoint-every 200
FINE_TUNE = $(TRAIN) --max-steps 1200 --warmup-steps 50
DEFAULT_MODEL = affectvlm/assets/default_model

default-model: runs/default-temporal/model.safetensors | data/val-recipes/manifest.csv
	$(PYTHON) scripts/install_default_model.py runs/default-temporal
	$(PYTHON) scripts/evaluate_heldout.py --model $(DEFAULT_MODEL) --train-dir data/train-scan \
	  --val-dir data/val-recipes --heldout-dir data/heldout --out hub_card/default_model
	cp runs/default-blend2/test_results.json hub_card/default_model/results.json
	cp runs/default-blend2/training_curves.png hub_card/default_model/training_curves.png
	cp runs/default-conv96c/training_curves.png hub_card/default_model/training_curves_base.png
	$(PYTHON) scripts/push_to_hub.py --model $(DEFAULT_MODEL) --card-only \
	  --name "AffectVLM default model (synthetic faces only)" --results hub_card/default_model/results.json \
	  --heldout-results hub_card/default_model/heldout_results.json \
	  --temporal-results hub_card/experiments/temporal/temporal_results.json

data/train-scan/manifest.csv: | $(STAMP)
	$(TRAINING_FACES) --out $(@D) --faces-per-emotion 3 --variation scan
data/val-recipes/manifest.csv: | $(STAMP)
	$(SYNTHETIC) --out $(@D) --subjects 60 --subject-seed-offset 20000 --recipes validation --variation scan
data/train-blend/manifest.csv: | $(STAMP)
	$(TRAINING_FACES) --out $(@D) --faces-per-emotion 4 --variation scan-mixed --seed 1
data/train-blend2/manifest.csv: | $(STAMP)
	$(TRAINING_FACES) --out $(@D) --faces-per-emotion 4 --variation scan-mixed --seed 2
data/captured-bu4dfe: | $(STAMP)
	$(PYTHON) scripts/make_synthetic.py --layout bu4dfe --out $@ --subjects 24 --frames 100 --dynamics captured \
	  --texture-size 16 --workers 2

runs/default-conv96c/best/model.safetensors: | data/train-scan/manifest.csv
	$(TRAIN) --data-dir data/train-scan --output-dir runs/default-conv96c --model-preset conv --max-steps 2000 \
	  --warmup-steps 100 --learning-rate 1e-3
runs/default-blend/best/model.safetensors: runs/default-conv96c/best/model.safetensors | data/train-blend/manifest.csv
	$(FINE_TUNE) --checkpoint runs/default-conv96c/best --data-dir data/train-blend --output-dir runs/default-blend \
	  --learning-rate 3e-4 --seed 1
runs/default-blend2/best/model.safetensors: runs/default-blend/best/model.safetensors | data/train-blend2/manifest.csv
	$(FINE_TUNE) --checkpoint runs/default-blend/best --data-dir data/train-blend2 --output-dir runs/default-blend2 \
	  --learning-rate 2e-4 --seed 2
runs/default-temporal/model.safetensors: runs/default-blend2/best/model.safetensors | data/captured-bu4dfe
	$(PYTHON) scripts/install_default_model.py runs/default-blend2/best
	$(PYTHON) scripts/train_temporal_head.py --model $(DEFAULT_MODEL) --data-dir data/captured-bu4dfe \
	  --cache-dir data/cache --render-workers 2 --out outputs/temporal --install runs/default-temporal
	cp outputs/temporal/temporal_results.json outputs/temporal/temporal_results.png hub_card/experiments/temporal/

clean:
	rm -rf $(VENV) .pytest_cache
