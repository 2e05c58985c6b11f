"""Contracts and vendors (issue 19): the agreement hierarchy, coverage gaps, vendor scorecards,
the contract lifecycle and finance reconciliation.

``store`` reads the contract tables into plain dataclasses; every other module here is pure
(dataclasses and frames in, results out) so the numbers can be checked by hand.
"""
