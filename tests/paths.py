"""Where things are, for every host-side test: `from paths import ROOT` (pyproject's pythonpath)."""

from pathlib import Path

# The repository's root: the Makefile, the compose files and app/ are here.
ROOT = Path(__file__).resolve().parents[1]
