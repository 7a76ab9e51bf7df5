"""DQN and Empathic DQN (Bussmann, Heinerman & Lehman 2019) in PyTorch, for many agents at once.

Both learn a selfish Q-network with Double DQN (its own reward, a target network). Empathic DQN adds a second
network, the one it acts with, trained towards

    y_empathic = beta * y_self + (1 - beta) * gamma * max_a' Q_target(swap(s'), a')

the agent's own target mixed with the value it would have in the other agent's place (the next state with the
two agents swapped, valued by its own selfish target network: "by its own standards"), weighted by the
selfishness beta. At beta = 1 the empathic network regresses on y_self alone; by the ``selfish_policy`` rule the
selfish agent acts with it, as the reference's does ("empathic"), or with its Q-network as plain DQN ("q").

As in the authors' code: both networks see only the agent's own 5 x 5 view (scaled by 1/100), two hidden layers
of 128, five actions, squared error, Adam at its default rate, a minibatch of 32 per environment step.

Why many at once: one agent's update is ~5 ms of framework overhead on this CPU (two networks of 20k weights), so
the reference's one update per step would take 8 minutes per 100,000 steps and run. A ``Population`` stacks
the networks of n agents along a leading axis and runs them with batched matrix products: every member's
numbers are its own (its own seed's initial weights, its own minibatch, its own term in a summed loss, so
elementwise Adam moves it exactly as alone), and one update costs about as much as one agent's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .worlds import ACTIONS

SCALE = 1 / 100  # the reference divides the board's values by 100
NETS = ("q", "target", "empathic")


def encode(view: torch.Tensor, uint8: torch.Tensor) -> torch.Tensor:
    """The networks' input from a board view (n, batch, w, w): the values / 100, where ``uint8`` (n,) marks the
    members that see the board as the reference's network does, through a uint8 placeholder: a coin's -1 wraps
    to 255 (input 2.55, the brightest cell) instead of -0.01."""
    wrapped = torch.where(uint8[:, None, None, None] & (view < 0), view + 256, view)
    return wrapped.flatten(2) * SCALE


class Stack(nn.Module):
    """n Q-networks of the reference's shape (w*w -> 128 -> 128 -> 5, ReLU) as stacked weights.

    Each member's initial weights come from its own seed, by its ``init`` rule: "glorot" is the reference's (TF1
    ``fully_connected``'s defaults: Glorot-uniform weights, +-sqrt(6 / (fan_in + fan_out)), and zero biases, so
    an all-zero input is valued exactly 0); "torch" is ``torch.nn.Linear``'s (weights and biases uniform in
    +-1/sqrt(fan_in))."""

    def __init__(self, seeds: list[int], window: int = 5, hidden: int = 128, stream: int = 0,
                 inits: list[str] | None = None):
        super().__init__()
        sizes = [window * window, hidden, hidden, ACTIONS]
        weights, biases = [[] for _ in sizes[1:]], [[] for _ in sizes[1:]]
        for seed, init in zip(seeds, inits or ["torch"] * len(seeds)):
            if init not in ("glorot", "torch"):
                raise ValueError(f"init must be 'glorot' or 'torch', got {init!r}")
            g = torch.Generator().manual_seed(seed * 7919 + stream)
            for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
                if init == "glorot":
                    bound = (6 / (fan_in + fan_out)) ** 0.5
                    weights[i].append((torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound)
                    biases[i].append(torch.zeros(1, fan_out))
                else:
                    bound = fan_in ** -0.5
                    weights[i].append((torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound)
                    biases[i].append((torch.rand(1, fan_out, generator=g) * 2 - 1) * bound)
        self.weights = nn.ParameterList([nn.Parameter(torch.stack(w)) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(torch.stack(b)) for b in biases])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, batch, features) -> (n, batch, actions)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            x = torch.relu(x) if i < last else x
        return x


def double_dqn_targets(q: torch.Tensor, target: torch.Tensor, reward: torch.Tensor, done: torch.Tensor,
                       gamma: float) -> torch.Tensor:
    """r + gamma (1 - done) Q_target(s', argmax_a Q(s', a)) from both networks' values at s' (n, batch, actions)."""
    best = q.argmax(-1, keepdim=True)
    return reward + gamma * (1 - done) * target.gather(-1, best).squeeze(-1)


def other_values(target_other: torch.Tensor, gamma: float, keep: torch.Tensor) -> torch.Tensor:
    """gamma max_a Q_target(swap(s'), a), times ``keep`` (1, or 0 where a member's rules zero the other's term:
    the other dead, or the episode over)."""
    return gamma * keep * target_other.max(-1).values


def empathic_targets(y_self: torch.Tensor, y_other: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return beta[:, None] * y_self + (1 - beta[:, None]) * y_other


class Population:
    """n agents of one world, each with its selfishness beta, seed and rules (``Settings``), updated together."""

    def __init__(self, betas: list[float], seeds: list[int], rules: list, gamma: float, lr: float, window: int,
                 device: str = "cpu"):
        if any(not 0 <= b <= 1 for b in betas):
            raise ValueError(f"beta (selfishness) must lie in [0, 1], got {betas}")
        self.n, self.gamma, self.window, self.device = len(betas), gamma, window, torch.device(device)
        flags = lambda test: torch.tensor([test(r) for r in rules], device=self.device)  # noqa: E731
        self.beta = torch.tensor(betas, dtype=torch.float32, device=self.device)
        self.uint8 = flags(lambda r: r.coin_view == "uint8")
        self.zero_dead = flags(lambda r: r.dead_other == "zero").float()
        self.mask_end = flags(lambda r: r.other_at_end == "masked").float()
        inits = [r.init for r in rules]
        self.q, self.target = Stack(seeds, window, stream=0, inits=inits), Stack(seeds, window, stream=0, inits=inits)
        self.empathic = Stack(seeds, window, stream=1, inits=inits)
        for net in (self.q, self.target, self.empathic):
            net.to(self.device)
        self.opt = torch.optim.Adam([*self.q.parameters(), *self.empathic.parameters()], lr=lr, foreach=True)
        # the members that act with (and train) the empathic network: all but the selfish ones (beta = 1) whose
        # ``selfish_policy`` is "q" (plain DQN, acting with q, the empathic network left untrained)
        self.empathic_member = (self.beta < 1) | flags(lambda r: r.selfish_policy == "empathic")

    def values(self, net: Stack, views: torch.Tensor) -> torch.Tensor:
        return net(encode(views, self.uint8))

    def act(self, observations, epsilon: float, rngs: list[np.random.Generator]) -> tuple[torch.Tensor,
                                                                                          np.ndarray]:
        """Epsilon-greedy actions, one per member (observations: (n, 2, w, w), an array or a tensor), on the
        population's device, and the acting network's max Q. Each member's generator decides its exploration
        (one uniform draw, then a random action below epsilon), so its stream does not depend on the others."""
        with torch.inference_mode():
            views = torch.as_tensor(observations, device=self.device)[:, None, 0]
            own = self.values(self.q, views)[:, 0]
            emp = self.values(self.empathic, views)[:, 0]
            values = torch.where(self.empathic_member[:, None], emp, own)
            greedy, best = values.argmax(1).cpu().numpy(), values.max(1).values.cpu().numpy()
        actions = np.array([rng.integers(ACTIONS) if rng.random() < epsilon else g for rng, g in zip(rngs, greedy)])
        return torch.from_numpy(actions).to(self.device), best

    def targets(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's selfish (Double DQN) and empathic targets for its minibatch, by its own rules."""
        nxt = batch["next_state"]
        with torch.no_grad():
            y_self = double_dqn_targets(self.values(self.q, nxt[:, :, 0]), self.values(self.target, nxt[:, :, 0]),
                                        batch["reward"], batch["done"], self.gamma)
            keep = (1 - self.zero_dead[:, None] * (1 - batch["other_alive"])) * (
                1 - self.mask_end[:, None] * batch["done"])
            y_other = other_values(self.values(self.target, nxt[:, :, 1]), self.gamma, keep)
            return y_self, empathic_targets(y_self, y_other, self.beta)

    def update(self, batch: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """One minibatch per member (tensors (n, batch, ...)); returns each member's selfish and empathic loss."""
        state = batch["state"][:, :, 0]
        y_self, y_emp = self.targets(batch)
        action = batch["action"][..., None]
        q_loss = ((self.values(self.q, state).gather(-1, action).squeeze(-1) - y_self) ** 2).mean(1)
        e_loss = ((self.values(self.empathic, state).gather(-1, action).squeeze(-1) - y_emp) ** 2).mean(1)
        e_loss = e_loss * self.empathic_member
        self.opt.zero_grad(set_to_none=True)
        (q_loss.sum() + e_loss.sum()).backward()
        self.opt.step()
        return q_loss.detach().cpu().numpy(), e_loss.detach().cpu().numpy()

    def sync_target(self) -> None:
        self.target.load_state_dict(self.q.state_dict())

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's networks as plain tensors (what a run folder keeps)."""
        return {f"{name}.{k}": v[i].detach().clone() for name in NETS
                for k, v in getattr(self, name).state_dict().items()}

    def load_member(self, i: int, tensors: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name in NETS:
                for k, v in getattr(self, name).state_dict().items():
                    v[i].copy_(tensors[f"{name}.{k}"])


class Replay:
    """A ring buffer of transitions per member, as tensors on the population's device (both views of s and s' as
    int8: the board's values are -1..50). Members fill at their own pace where a game goes on without some of them
    (``add(..., members=)``); a population's runs all add every step."""

    def __init__(self, n: int, capacity: int, window: int, device: str | torch.device = "cpu"):
        self.n, self.capacity = n, capacity
        self.size, self.next = np.zeros(n, np.int64), np.zeros(n, np.int64)
        z = lambda *shape, dtype=torch.float32: torch.zeros(n, capacity, *shape, dtype=dtype, device=device)  # noqa
        self.state, self.next_state = z(2, window, window, dtype=torch.int8), z(2, window, window, dtype=torch.int8)
        self.action, self.reward = z(dtype=torch.int64), z()
        self.done, self.other_alive = z(), z()
        self.rows = torch.arange(n, device=device)[:, None]

    def add(self, s, a, r, s2, done, other_alive, members: np.ndarray | None = None) -> None:
        """One transition per member (tensors with a leading member axis); with ``members`` (bool, (n,)) only
        theirs are kept."""
        m = np.ones(self.n, bool) if members is None else members
        rows = torch.from_numpy(np.flatnonzero(m)).to(self.rows.device)
        at = torch.from_numpy(self.next[m]).to(self.rows.device)
        for k, v in (("state", s), ("action", a), ("reward", r), ("next_state", s2), ("done", done),
                     ("other_alive", other_alive)):
            getattr(self, k)[rows, at] = torch.as_tensor(v, device=self.rows.device)[rows].to(getattr(self, k).dtype)
        self.next[m] = (self.next[m] + 1) % self.capacity
        self.size[m] = np.minimum(self.size[m] + 1, self.capacity)

    def sample(self, size: int, rngs: list[np.random.Generator]) -> dict[str, torch.Tensor]:
        """``size`` transitions per member, drawn with replacement by the member's own generator."""
        idx = np.stack([rng.integers(0, int(n), size) for rng, n in zip(rngs, self.size)])
        idx = torch.from_numpy(idx).to(self.rows.device)
        out = {k: getattr(self, k)[self.rows, idx] for k in ("action", "reward", "done", "other_alive")}
        for k in ("state", "next_state"):
            out[k] = getattr(self, k)[self.rows, idx].float()
        return out
