"""Drawing results: HTML pieces, charts and image grids (no computation of numbers)."""
