"""What every experiment stands on: the ``Experiment`` declaration and verdicts (``base``), margins, presets and
their config changes, and the ``Lab`` of shared, stored steps."""
