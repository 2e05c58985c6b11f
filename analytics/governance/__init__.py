"""Governance: typed audit events, month snapshots of the reports and the retention purge.

Kept import-free so ``analytics.store.audit`` may import :mod:`analytics.governance.events`
without pulling in the report modules that snapshots use.
"""
