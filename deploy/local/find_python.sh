#!/usr/bin/env bash
# Print the path of a working Python 3.13: under pyenv first, then on the PATH.
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for candidate in $(ls -d "$root"/versions/3.13*/bin/python3.13 2>/dev/null | sort -V -r) \
                 $(command -v python3.13 2>/dev/null) /usr/local/bin/python3.13 /usr/bin/python3.13; do
  if [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    echo "$candidate"
    exit 0
  fi
done
exit 1
