"""Differential exploration: generated scenarios recorded on Linux and replayed on
nettwin; differences classified by cause and shrunk to small regressions."""
