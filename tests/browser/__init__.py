"""Tests that drive headless Chromium (a package so that its conftest is not the module `conftest`)."""
