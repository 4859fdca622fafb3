#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, when it is missing (Debian packages; needs root):
#   redis-server   — the two-node tests start a real Redis;
#   chromium       — the browser tests drive Debian's Chromium (never a downloaded browser);
#   docker-compose — validates docker-compose.yml (`docker-compose config`; no engine needed);
#   java, mvn      — scripts/cql-node.sh fetches Apache Cassandra with Maven and runs it on Java 17.
# and one Python package (pip, pinned): fhir.resources — the FHIR validator the export tests run
# (gateway/tests/data_rights.rs; its R4B models validate the R4 Bundle).
# Node.js and npm come with the machine; the browser tests install their npm packages themselves.
set -euo pipefail
FHIR_RESOURCES=8.0.0
if ! python3 -c "import fhir.resources.R4B.bundle" 2>/dev/null; then
  echo "==> installing fhir.resources==$FHIR_RESOURCES (pip)"
  PIP_NO_INPUT=1 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    "fhir.resources==$FHIR_RESOURCES"
fi
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "missing: ${missing[*]} — install them (apt-get install ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "==> installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
