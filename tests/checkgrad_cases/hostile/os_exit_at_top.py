"""Calls os._exit(0) while loading: no report may ever look like a pass."""
import os

os._exit(0)
