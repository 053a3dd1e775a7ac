"""Serving stage: the loaded model answering requests (streams now, HTTP later)."""
