"""Helpers the test suites share: sample images, databases, and a running worker stack."""
