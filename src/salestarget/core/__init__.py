"""Pieces shared by the Django apps: tree nodes, scoping, money formatting."""
