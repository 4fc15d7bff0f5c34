#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real (browser, proxy,
# Redis, PostgreSQL) when they are missing. Needs root; elsewhere it says what to install.
set -euo pipefail
packages=(chromium nginx apache2 php-cli redis-server postgresql)   # browser tests; reverse-proxy tests (nginx, Apache); the WordPress shortcode; Redis mode; the portal's database on PostgreSQL
# The WordPress plugin: a real WordPress 6.1 on MariaDB, its translations built with
# GNU gettext, and libfaketime to set a site's clock apart in the connection check's test.
packages+=(wordpress wordpress-l10n mariadb-server php-mysql gettext faketime)
needed=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || needed+=("$pkg")
done
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Please install these Debian packages for the full test suite: ${needed[*]}" >&2
  exit 1
fi
echo "Installing ${needed[*]} ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
