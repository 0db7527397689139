"""Reproductions of the papers' key results, and the kit's end-to-end demo."""
