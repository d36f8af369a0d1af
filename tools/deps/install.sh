#!/usr/bin/env bash
# Installs the Debian packages Atoll needs (being rewritten by the deps work).
set -eu
exit 0
