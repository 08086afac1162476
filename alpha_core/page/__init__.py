"""The result page of one alpha (issue 13 item 5): ``alpha report HASH`` writes it as one self-contained HTML file.

``data.gather`` reads everything the page shows from the run's DuckDB file and the panel (``PageData``);
``render.render_page`` turns it into HTML (inline CSS, charts as inline SVG, no network); ``write_page`` does
both and writes ``<db dir>/reports/<hash12>.html`` (or ``out``); ``write_pages`` writes many, reading DuckDB once.
"""
from alpha_core.page.data import PageData, PageError, gather, write_page, write_pages
from alpha_core.page.render import render_page

__all__ = ["PageData", "PageError", "gather", "render_page", "write_page", "write_pages"]
