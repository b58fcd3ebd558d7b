#!/usr/bin/env bash
# Make Debian's Chromium and its driver available for the browser tests.
#
#   scripts/chromium.sh           # install chromium and chromium-driver with apt-get when missing
#   scripts/chromium.sh path      # print the browser's path (exit 1 when there is none)
#
# The browser is looked up as $AIC_CHROMIUM, then chromium, chromium-browser, google-chrome on PATH.
# Installing needs root and apt-get (Debian); otherwise the script says so on one line and exits 1.
# Messages go to stderr; `path` prints only the path on stdout.
set -euo pipefail

msg() { echo "chromium: $*" >&2; }

find_browser() {
    local candidate
    for candidate in "${AIC_CHROMIUM:-}" chromium chromium-browser google-chrome; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

install() {
    if browser="$(find_browser)" && command -v chromedriver >/dev/null 2>&1; then
        msg "already installed: $browser"
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        msg "cannot install Debian's chromium here (needs root and apt-get); install it, or set AIC_CHROMIUM"
        return 1
    fi
    msg "installing chromium and chromium-driver with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -q -o DPkg::Lock::Timeout=300)
    if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends chromium chromium-driver; } >&2; then
        msg "apt-get install chromium chromium-driver failed"
        return 1
    fi
    browser="$(find_browser)" || { msg "chromium still missing after the install"; return 1; }
    msg "installed: $browser ($("$browser" --version 2>/dev/null || echo 'version unknown'))"
}

case "${1:-install}" in
    install) install ;;
    path) find_browser ;;
    *) echo "usage: $0 [install|path]" >&2; exit 2 ;;
esac
