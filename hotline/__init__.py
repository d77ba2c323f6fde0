"""Wiring: settings, the application factory and the `hotline` command line."""
