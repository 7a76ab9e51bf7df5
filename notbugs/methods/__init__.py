"""The lab's methods: training (standard and adversarial), the paper's dataset constructions, the Gaussian
model, corruptions and spectra, and ``tasks`` (train / evaluate / construct as the CLI and the store run them)."""
