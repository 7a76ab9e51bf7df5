"""DQN and Empathic DQN (Bussmann, Heinerman & Lehman 2019) in PyTorch.

Both learn a selfish Q-network with Double DQN (its own reward, a target network). Empathic DQN adds a second
network, the one it acts with, trained towards

    y_empathic = beta * y_self + (1 - beta) * gamma * max_a' Q_target(swap(s'), a')

the agent's own target mixed with the value it would have in the other agent's place (the next state with the
two agents swapped, valued by its own selfish target network: "by its own standards"), weighted by the
selfishness beta. beta = 1 is plain DQN: no second network, the agent acts with its selfish one.

As in the authors' code: both networks see only the agent's own 5 x 5 view (scaled by 1/100), two hidden layers
of 128, five actions, squared error, Adam at its default rate, a minibatch of 32 per environment step.
Departure: once the other agent is gone (killed), its value is 0 (the reference values an all-zero view with the
network, whatever it says).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .worlds import ACTIONS

SCALE = 1 / 100  # the reference divides the board's values by 100


class QNet(nn.Module):
    def __init__(self, window: int = 5, hidden: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(window * window, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, ACTIONS))

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        return self.body(view * SCALE)


class Replay:
    """A ring buffer of transitions (both views of s and s', action, reward, done, other alive at s')."""

    def __init__(self, capacity: int, window: int):
        self.capacity, self.size, self.next = capacity, 0, 0
        self.state = np.zeros((capacity, 2, window, window), np.float32)
        self.next_state = np.zeros_like(self.state)
        self.action = np.zeros(capacity, np.int64)
        self.reward = np.zeros(capacity, np.float32)
        self.done = np.zeros(capacity, np.float32)
        self.other_alive = np.zeros(capacity, np.float32)

    def add(self, s, a, r, s2, done, other_alive) -> None:
        """Transitions of one step of every environment (arrays with a leading environment axis)."""
        i = (self.next + np.arange(len(a))) % self.capacity
        self.state[i], self.action[i], self.reward[i], self.next_state[i] = s, a, r, s2
        self.done[i], self.other_alive[i] = done, other_alive
        self.next, self.size = (i[-1] + 1) % self.capacity, min(self.size + len(a), self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        idx = rng.integers(0, self.size, n)
        return {k: torch.from_numpy(getattr(self, k)[idx]) for k in
                ("state", "action", "reward", "next_state", "done", "other_alive")}


def self_targets(q: QNet, target: QNet, batch: dict, gamma: float) -> torch.Tensor:
    """Double DQN: r + gamma (1 - done) Q_target(s', argmax_a Q(s', a)), on the agent's own view."""
    own_next = batch["next_state"][:, 0]
    best = q(own_next).argmax(1, keepdim=True)
    return batch["reward"] + gamma * (1 - batch["done"]) * target(own_next).gather(1, best).squeeze(1)


def other_values(target: QNet, batch: dict, gamma: float) -> torch.Tensor:
    """gamma max_a Q_target(swap(s'), a): the agent's own estimate of the other's future, 0 once it is gone."""
    return gamma * batch["other_alive"] * target(batch["next_state"][:, 1]).max(1).values


def empathic_targets(y_self: torch.Tensor, y_other: torch.Tensor, beta: float) -> torch.Tensor:
    return beta * y_self + (1 - beta) * y_other


@dataclass
class Agent:
    """A DQN (beta = 1) or an Empathic DQN (beta < 1): its networks, optimisers and update."""

    beta: float
    gamma: float
    lr: float
    window: int
    seed: int

    def __post_init__(self):
        if not 0 <= self.beta <= 1:
            raise ValueError(f"beta (selfishness) must lie in [0, 1], got {self.beta}")
        torch.manual_seed(self.seed)
        self.q, self.target = QNet(self.window), QNet(self.window)
        self.target.load_state_dict(self.q.state_dict())
        self.q_opt = torch.optim.Adam(self.q.parameters(), lr=self.lr, foreach=True)
        self.empathic = QNet(self.window) if self.beta < 1 else None
        self.e_opt = torch.optim.Adam(self.empathic.parameters(), lr=self.lr, foreach=True) if self.empathic else None

    @property
    def policy(self) -> QNet:
        return self.empathic if self.empathic is not None else self.q

    def act(self, observations: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        """Epsilon-greedy actions for a batch of observations (one per environment), by the acting network."""
        with torch.inference_mode():
            greedy = self.policy(torch.from_numpy(observations[:, 0])).argmax(1).numpy()
        explore = rng.random(len(observations)) < epsilon
        return np.where(explore, rng.integers(0, ACTIONS, len(observations)), greedy)

    def update(self, batch: dict) -> float:
        with torch.inference_mode():
            y_self = self_targets(self.q, self.target, batch, self.gamma)
            y_other = other_values(self.target, batch, self.gamma) if self.empathic is not None else None
        y_self = y_self.clone()
        y_other = y_other.clone() if y_other is not None else None
        loss = self._step(self.q, self.q_opt, batch, y_self)
        if self.empathic is not None:
            loss = self._step(self.empathic, self.e_opt, batch, empathic_targets(y_self, y_other, self.beta))
        return loss

    @staticmethod
    def _step(net: QNet, opt, batch: dict, y: torch.Tensor) -> float:
        chosen = net(batch["state"][:, 0]).gather(1, batch["action"][:, None]).squeeze(1)
        loss = torch.mean((y - chosen) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    def sync_target(self) -> None:
        self.target.load_state_dict(self.q.state_dict())

    def state_dict(self) -> dict[str, torch.Tensor]:
        nets = {"q": self.q, "target": self.target} | ({"empathic": self.empathic} if self.empathic else {})
        return {f"{name}.{k}": v.detach().clone() for name, net in nets.items() for k, v in net.state_dict().items()}

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        nets = {"q": self.q, "target": self.target} | ({"empathic": self.empathic} if self.empathic else {})
        for name, net in nets.items():
            prefix = f"{name}."
            net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
