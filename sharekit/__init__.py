"""Pieces every layer of the kit shares: command dispatch, paths, cgroups."""
