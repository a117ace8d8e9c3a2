#!/bin/bash
# Build a rosidl interface package (C/C++/Python type support) with plain CMake against the PyPI
# ROS 2 wheels, installed into <install_prefix> (the virtualenv, so it imports with no extra
# variables). On a real ROS 2 install use colcon instead (see docs/ros2.md).
# usage: build_msgs.sh <pkg_src_dir> <install_prefix>
set -e
SRC=$(realpath "$1"); PREFIX=$(realpath -m "$2"); NAME=$(basename "$SRC")
BUILD=${BUILD_DIR:-$(mktemp -d)}/$NAME
: "${VIRTUAL_ENV:?set VIRTUAL_ENV to the virtualenv}"
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
mkdir -p "$BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_PREFIX_PATH="$VIRTUAL_ENV" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DPython3_EXECUTABLE="$VIRTUAL_ENV/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PROJECT_INCLUDE="$(dirname "$(realpath "$0")")/fix_wheel_python_includes.cmake" > "$BUILD.log" 2>&1 \
  || { cat "$BUILD.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
cmake --install "$BUILD" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
echo "built $NAME into $PREFIX"
