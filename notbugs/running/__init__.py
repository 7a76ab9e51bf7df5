"""Running experiments of the registry: one seed (``runner``), several seeds judged together (``seeds``), seeds
in parallel processes or a cluster (``workers``)."""
