"""Compatibility with apps written for the upstream package (`routes`, `validation`, `normalizers` import paths)."""
