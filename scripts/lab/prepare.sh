#!/usr/bin/env bash
# What the suite needs prepared before it runs (npm test's pretest), all cached:
# the lab engine's images (scripts/lab/build-images.ts) and a tree of each node
# image for the boot-image test (scripts/lab/build-boot-rootfs.sh). Where the
# lab cannot run (not root, or no engine installed by scripts/install-test-deps.sh),
# it says so and does nothing; the tests that need the lab then fail naming the step.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ] || [ ! -x "${SUPAFLEET_LAB_DOCKER:-/opt/supafleet-docker}/usr/sbin/dockerd" ]; then
  echo "lab: skipped (needs root and the engine from bash scripts/install-test-deps.sh); tests that need the Docker lab will fail"
  exit 0
fi
npx tsx scripts/lab/build-images.ts
bash scripts/lab/build-boot-rootfs.sh
