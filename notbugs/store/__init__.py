"""The content-addressed store: steps keyed by what they read (``pipeline``), the code versions in the keys
(``versions``), per-step locks, resumable shared batches and atomically written output folders."""
