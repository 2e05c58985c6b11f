"""Closing the loop: acting on what the workbench detects and measuring what the actions achieved."""
