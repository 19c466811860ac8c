#!/usr/bin/env bash
# Placeholder for the end-to-end demo against the virtual card.
echo "demo.sh: not written yet" >&2
exit 1
