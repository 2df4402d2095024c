"""Renderers of the findings frame: Rich tables for people, CSV/JSONL/JSON for tools."""
