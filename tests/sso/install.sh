#!/usr/bin/env bash
# Installs the real identity providers the sign-in tests start: django-cas-server in a
# virtual environment under target/sso-venv, node-oidc-provider under tests/sso/oidc.
# Needs python3 (with venv) and Node.js with npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x target/sso-venv/bin/python ] || ! target/sso-venv/bin/python -c 'import cas_server' 2>/dev/null; then
    python3 -m venv target/sso-venv
    target/sso-venv/bin/pip install --quiet --disable-pip-version-check 'django-cas-server==3.1.0'
fi
if [ ! -d tests/sso/oidc/node_modules/oidc-provider ]; then
    (cd tests/sso/oidc && npm ci --no-audit --no-fund --silent)
fi
echo "identity providers installed"
