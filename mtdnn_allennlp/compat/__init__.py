"""Compatibility fixes that let the stock AllenNLP 2.10.1 run on today's Python, torch and
transformers. See ``docs/compatibility.md``. Kept import-light: it is loaded at interpreter start.
"""
