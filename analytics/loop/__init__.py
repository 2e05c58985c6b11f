"""Closing the loop: signals become notifications and tickets; improvements are measured."""
