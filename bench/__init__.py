"""Benchmarks on the public datasets in ../shared/data (``make bench``); not an installed package."""
