"""The presets of ``canary-exposure reproduce``: every knob of a reproduction in one dataclass.

tiny  - seconds, for the tests: its verdicts are no evidence.
quick - the argument on this project's 2-core CPU in about 9 minutes (sizes in docs below).
full  - the whole corpus, a larger LSTM, more seeds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from .errors import ExposureError
from .training import TrainSettings


@dataclass
class Preset:
    name: str
    train: TrainSettings
    template: str = "my random number is {}"
    digits: int = 6  # |R| = 10^6: every candidate scored exactly
    insertions: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    per_k: int = 2  # secrets inserted k times, for each k
    references: int = 20  # secrets never inserted: exposure's null
    extrapolation_references: int = 5000  # random candidates the skew-normal is fitted to
    extraction_budget: int = 10_000  # model queries (1 % of |R| at 6 digits)
    extraction_references: int = 5  # never-inserted secrets the search is also asked for
    documents: int | None = None  # the corpus's first documents (None: all)
    dp_epochs: int | None = None  # epochs of the DP-SGD model (None: the plain model's)
    seeds: tuple[int, ...] = (0, 1, 2)
    smoke: bool = False

    def __post_init__(self):
        if self.dp_epochs is None:
            self.dp_epochs = self.train.epochs

    def to_dict(self) -> dict:
        return asdict(self)


def _tiny() -> Preset:
    return Preset("tiny", TrainSettings(arch_options={"embed": 16, "hidden": 32}, context=32, batch_size=32,
                                        epochs=2, lr=5e-3),
                  digits=3, insertions=(1, 8, 32), per_k=1, references=5, extrapolation_references=300,
                  extraction_budget=100, extraction_references=2, documents=300, seeds=(0, 1), smoke=True)


def _quick() -> Preset:
    """Sized from ``canary-exposure bench`` on this project's 2-core CPU (calibrate.py 7.68 s): exact scoring of
    the 10^6 candidates 13.5 s by re-reading prefixes (after every epoch), plain training 93k tokens/s, Opacus'
    DPLSTM 9.6k tokens/s: 2,000 fortunes (380 kB), 8 plain epochs and 3 DP-SGD epochs per seed. Measured over
    seeds 0-2 once scoring carried the LSTM's state: 532 s in all (993 s before)."""
    return Preset("quick", TrainSettings(arch_options={"embed": 32, "hidden": 128}, context=64, batch_size=64,
                                         epochs=8, lr=3e-3),
                  documents=2000, dp_epochs=3)


def _full() -> Preset:
    return Preset("full", TrainSettings(arch_options={"embed": 64, "hidden": 256, "layers": 2}, context=128,
                                        batch_size=64, epochs=20, lr=2e-3),
                  seeds=(0, 1, 2, 3, 4))


PRESETS = {"tiny": _tiny, "quick": _quick, "full": _full}


def get_preset(name: str, **changes) -> Preset:
    if name not in PRESETS:
        raise ExposureError(f"unknown preset '{name}'; use one of {', '.join(PRESETS)}")
    p = PRESETS[name]()
    return replace(p, **changes) if changes else p

