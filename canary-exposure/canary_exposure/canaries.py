"""Canaries (Carlini et al. 2019, section 4): a format with one random slot, secrets drawn from its randomness
space R, each inserted k times into the training documents; reference canaries of the same format are never
inserted and give exposure's null."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import ExposureError

SLOT = "{}"


@dataclass(frozen=True)
class CanaryFormat:
    """``template`` with one ``{}`` where a secret of ``digits`` decimal digits goes: |R| = 10 ** digits."""

    template: str = "my random number is {}"
    digits: int = 6

    def __post_init__(self):
        if self.template.count(SLOT) != 1:
            raise ExposureError(f"a canary format needs exactly one slot '{{}}' for the secret, got "
                                f"'{self.template}'")
        if not 1 <= self.digits <= 18:
            raise ExposureError(f"a secret has 1 to 18 digits, got {self.digits}")

    @property
    def space(self) -> int:
        return 10 ** self.digits

    @property
    def prefix(self) -> str:
        return self.template.split(SLOT)[0]

    @property
    def suffix(self) -> str:
        return self.template.split(SLOT)[1]

    def secret(self, number: int) -> str:
        return f"{number:0{self.digits}d}"

    def render(self, secret: str) -> str:
        if len(secret) != self.digits or not secret.isdigit():
            raise ExposureError(f"a secret of this format is {self.digits} digits, got '{secret}'")
        return self.template.replace(SLOT, secret)

    def draw(self, n: int, rng: random.Random, exclude: set[str] = frozenset()) -> list[str]:
        """n distinct secrets uniformly from R, none in ``exclude``."""
        if n > self.space - len(exclude):
            raise ExposureError(f"cannot draw {n} distinct secrets from a space of {self.space}")
        out: list[str] = []
        seen = set(exclude)
        while len(out) < n:
            s = self.secret(rng.randrange(self.space))
            if s not in seen:
                seen.add(s)
                out.append(s)
        return out


def insert(documents: list[str], fmt: CanaryFormat, insertions: dict[str, int], rng: random.Random) -> list[str]:
    """The documents with each secret's canary added ``insertions[secret]`` times as a document of its own, at
    random places (the paper inserts the canary into the training data, not at its end)."""
    out = list(documents)
    for secret, k in insertions.items():
        for _ in range(k):
            out.insert(rng.randrange(len(out) + 1), fmt.render(secret))
    return out
