"""pytest plugins of this suite, registered from ``tests/conftest.py``."""
