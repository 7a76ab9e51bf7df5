"""The presets of ``canary-exposure reproduce``: every knob of a reproduction in one dataclass.

tiny  - seconds, for the tests: its verdicts are no evidence.
quick - the argument on this project's 2-core CPU in about 9 minutes (sizes in docs below).
full  - the whole corpus, a larger LSTM, more seeds.
decide - quick's models over the seeds its spread needs, DP-SGD at matched utility (claims 2 and 6).
overfit - quick's model on half the corpus until it overfits (claim 3's premise).
audit  - quick's models, plain and DP-SGD at matched epochs, with audit canaries: epsilon's empirical lower bound.
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
    dp_seeds: int | None = None  # how many of the seeds (the first) also train a DP-SGD model (None: all; 0: none)
    audit: int = 0  # audit canaries, each inserted audit_insertions times on a fair coin (audit.py; 0: no audit)
    audit_insertions: int = 8
    smoke: bool = False

    def __post_init__(self):
        if self.audit < 0 or self.audit == 1 or self.audit_insertions < 1:
            raise ExposureError("an audit takes 0 or at least 2 canaries, each inserted at least once")
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


def _decide() -> Preset:
    """The claims quick leaves undecided, on seeds nobody tuned on (3-12), sized from quick's spread over seeds
    0-2 before any of these ran: Spearman's rho 0.85 [0.70, 0.99] against its 0.8 needs about 9 seeds (10 here);
    DP-SGD gets the plain model's 8 epochs (quick gives it 3, and its validation loss ended 1.01 nats worse, on the
    utility premise's 1.0): DP training costs about 35 s an epoch here, so DP models on the first 5 seeds only."""
    return replace(_quick(), name="decide", dp_epochs=None, seeds=tuple(range(3, 13)), dp_seeds=5)


def _overfit() -> Preset:
    """Claim 3 needs a validation loss that rises (quick's still falls after 8 epochs): quick's LSTM on the first
    1,000 fortunes for 40 epochs, no DP-SGD model, seeds 3-5."""
    return replace(_quick(), name="overfit", train=replace(_quick().train, epochs=40), documents=1000,
                   dp_epochs=None, seeds=(3, 4, 5), dp_seeds=0)


def _audit() -> Preset:
    """An empirical lower bound on epsilon beside the accountant's, for the plain and the DP-SGD model: quick's
    models (DP-SGD for the plain model's 8 epochs) with 200 audit canaries, each inserted 8 times on a fair coin
    (about 800 documents of 28 bytes beside 2,000 fortunes: 6 % of the text), on seeds 13-15. Eight insertions
    because quick's plain models gave canaries inserted 8 times 1.7-5.5 bits of exposure (seed 0): visible to
    the auditor, not saturated. Chosen before any audit of this preset ran."""
    return replace(_quick(), name="audit", dp_epochs=None, seeds=(13, 14, 15), audit=200, audit_insertions=8)


PRESETS = {"tiny": _tiny, "quick": _quick, "full": _full, "decide": _decide, "overfit": _overfit,
           "audit": _audit}


def get_preset(name: str, **changes) -> Preset:
    if name not in PRESETS:
        raise ExposureError(f"unknown preset '{name}'; use one of {', '.join(PRESETS)}")
    p = PRESETS[name]()
    return replace(p, **changes) if changes else p

