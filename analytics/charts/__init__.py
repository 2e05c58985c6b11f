"""Altair chart builders shared by the pages and the notebooks: one module per area
(``charts.delivery``, ``charts.reliability``, ``charts.customer``, ``charts.studies``).

A builder takes a report's result (frames or dataclasses) and returns an ``alt.Chart``; it never
reads the store and never imports streamlit, so a notebook draws exactly what a page shows.
"""
