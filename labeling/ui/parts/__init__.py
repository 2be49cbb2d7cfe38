"""Widgets and panels the pages share."""
