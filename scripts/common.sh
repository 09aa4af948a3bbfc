# shellcheck shell=bash
# Shared by the scripts in this folder: the repository root, logging and the Rust toolchain.
# Source it; it defines functions and variables and runs nothing else.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Prints a line prefixed with the calling script's name.
log() {
  printf '%s: %s\n' "$(basename "$0")" "$*"
}

# Puts rustup's default install folder on PATH when cargo is there but not on PATH, as in a
# shell that has not read ~/.cargo/env.
add_cargo_to_path() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
    export PATH
  fi
}

# The folder cargo builds into, as an absolute path.
cargo_target_dir() {
  local dir=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
  case $dir in
    /*) printf '%s\n' "$dir" ;;
    *) printf '%s\n' "$REPO_ROOT/$dir" ;;
  esac
}
