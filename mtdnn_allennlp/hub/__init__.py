"""Exports to the Hugging Face ecosystem: transformers folders with model cards."""
