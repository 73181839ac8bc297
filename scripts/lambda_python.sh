#!/usr/bin/env bash
# Prints the absolute path of a python3.12 (the Lambda runtime's interpreter), the way this machine has one:
# on PATH, or installed by pyenv but not selected. `sam build` needs it on PATH, and the Makefile puts its folder
# there. Exits 1 with what to install when there is none.
set -u
version=${1:-3.12}
works() { "$1" -c 'import sys; sys.exit(0)' >/dev/null 2>&1; }
if command -v "python$version" >/dev/null 2>&1 && works "python$version"; then
  "python$version" -c 'import sys; print(sys.executable)'
  exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  for candidate in $(ls -d "$(pyenv root)/versions/$version".* 2>/dev/null | sort -V -r); do
    if works "$candidate/bin/python$version"; then
      echo "$candidate/bin/python$version"
      exit 0
    fi
  done
fi
for candidate in "/usr/bin/python$version" "/usr/local/bin/python$version"; do
  if [ -x "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
done
cat >&2 <<MSG
python$version was not found. sam build packages the functions for the Lambda runtime python$version and needs
that interpreter on this machine. Install it, for example with one of:
  pyenv install $version        (then run make again; no need to select it)
  apt-get install python$version python$version-venv   (where your distribution ships it)
  uv python install $version
MSG
exit 1
