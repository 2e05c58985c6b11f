"""Importers: canonical files, tool payloads and real datasets → validated, all-or-nothing upserts.

Entry points (shared by ``python -m analytics import`` and the Import page):
:func:`analytics.ingest.importer.import_files` and :func:`analytics.ingest.importer.preview`.
"""
