"""Test modules that the pytest plugin collects (see harness/pytest_plugin.py)."""
