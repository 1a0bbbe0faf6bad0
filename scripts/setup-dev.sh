#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine (run as root):
# Python packages (CPU torch from the local wheel first, so no CUDA build is pulled),
# the Docker engine (started without a bridge; containers never get a network) and
# the offline sandbox image. Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[ml,ray,dev]"
# Headless Chromium: the HTML report and `show --html` pages are checked in a real browser.
command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# bubblewrap confines the local sandbox (namespaces); setpriv (util-linux) drops root in it.
command -v bwrap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }
# JaCoCo's agent: per-test coverage for Java localization (repair/runtime_coverage.py).
[ -f /usr/share/java/org.jacoco.agent.rt.jar ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjacoco-java >/dev/null; }
# The JUnit Platform console launcher, Gradle and the JavaScript runners, so that each report reader
# is tested on real runner output (tests/test_runner_reports.py; pinned: mocha 12 breaks
# mocha-junit-reporter 2.2.1, vitest 4+ needs Node 22). Outside any repository, under /opt so
# the local sandbox (which masks /root and /home) can read it; tests link node_modules to it.
[ -f /usr/share/java/junit-platform-console-standalone.jar ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq junit5 >/dev/null; }
# Debian's Gradle 4.4.1 (runs on JDK 17, offline; JUnit 4 from the junit4 package that junit5 pulls in).
command -v gradle >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gradle >/dev/null; }
JS_RUNNERS=/opt/patchwarden/js-runners
[ -f "$JS_RUNNERS/node_modules/.pinned-v1" ] || {
  mkdir -p "$JS_RUNNERS" && (cd "$JS_RUNNERS" && npm install -q --no-audit --no-fund --no-save \
    jest@30.5.2 jest-junit@17.0.0 vitest@3.2.7 mocha@11.7.5 mocha-junit-reporter@2.2.1 >/dev/null) &&
  touch "$JS_RUNNERS/node_modules/.pinned-v1"; }

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
  fi
  if ! docker info >/dev/null 2>&1; then
    # Start our own daemon only when none answers; never touch one we did not start.
    nohup dockerd --bridge=none --iptables=false --ip-masq=false >/tmp/patchwarden-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
docker info >/dev/null 2>&1 || { echo "setup: the Docker engine did not start; see /tmp/patchwarden-dockerd.log" >&2; exit 1; }
# Rebuild the image when it is missing or stale (its label hashes the build inputs; CI machines
# keep old images). The offline build needs debootstrap even where a daemon was already running.
if ! python3 -m patchwarden.cli sandbox build-image --check; then
  command -v debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  python3 -m patchwarden.cli sandbox build-image --offline
fi
echo "setup: done"
