#!/usr/bin/env bash
# Installs what Casebook needs on Debian/Ubuntu, idempotently: only what is missing is installed.
# Sourced by scripts/run and scripts/test; safe to run on its own.
set -euo pipefail

APT_BUILD=(build-essential pkg-config perl make git curl file bc nodejs)
APT_DESKTOP=(libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev libssl-dev)
APT_TEST=(xvfb xauth webkit2gtk-driver xdotool age python3-icalendar python3-openpyxl postgresql)

need_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: Rust is not installed. Install a current stable Rust (https://rustup.rs) and run this again." >&2
    exit 1
  fi
}

# Node packages for the UI, exactly as locked.
setup_ui() {
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
    echo "setup: Node.js 20.19 or newer (with npm) is needed to build the UI; found $(node --version 2>/dev/null || echo none)." >&2
    echo "       Install it from your distribution's backports or NodeSource, then run this again." >&2
    exit 1
  fi
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    echo "setup: installing UI packages (npm ci)"
    npm --prefix ui ci --no-audit --no-fund --loglevel=error
  fi
}

# tauri-driver 2.x bridges WebDriver to the app; built from crates.io (~20 s), once.
setup_tauri_driver() {
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "setup: installing tauri-driver"
    cargo install tauri-driver --locked --version '^2' --quiet
  fi
}

setup_main() {
  local what="${1:-all}"
  need_apt "${APT_BUILD[@]}"
  case "$what" in
    desktop) need_apt "${APT_DESKTOP[@]}" ;;
    test) need_apt "${APT_DESKTOP[@]}" "${APT_TEST[@]}" ;;
    all) need_apt "${APT_DESKTOP[@]}" "${APT_TEST[@]}" ;;
  esac
  need_rust
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  setup_main "${1:-all}"
fi
