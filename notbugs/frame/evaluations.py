"""Evaluation of a model as every claim reads it: clean accuracy on all test images, robust accuracy at the
preset's eps, and the attack's sanity checks at the eps the claims use. A part of ``Lab`` (``frame.lab``)."""

from __future__ import annotations

from ..core.values import pack_bools, unpack_bools
from ..data import subset
from ..evaluation.evaluate import accuracy, evaluate
from ..evaluation.sanity import sanity_checks
from ..store.pipeline import Artifact, Build


class Evaluations:
    def evaluation(self, name: str, model: Artifact) -> dict:
        """Clean accuracy (all test images) and robust accuracy at the preset's eps, with the attack checks at the
        main eval eps (the one every claim reads; at the others they fed no claim and cost as much as the
        evaluation); the standard model is the transfer surrogate of the checks (an input of the step)."""
        p = self.preset
        params = {"norm": "l2", "eps": p.eval_eps, "steps": p.eval_steps, "limit": p.eval_limit,
                  "batch_size": p.eval_batch_size, "seed": self.seed,
                  "sanity": [p.sanity_limit, p.sanity_steps_factor, p.sanity_restarts], "main_eps": p.main_eval_eps}
        std = self.std()
        inputs = {"model": model, "data": self.data} | ({} if model.key == std.key else {"surrogate": std})

        def make(b: Build):
            net, data = self.model(b.inputs["model"]), b.inputs["data"]
            x, y = subset(data.test_x, data.test_y, p.eval_limit, self.seed)
            res = evaluate(net, x, y, norm="l2", eps_list=p.eval_eps, steps=p.eval_steps, seed=self.seed,
                           progress=self.progress, batch_size=p.eval_batch_size, per_image=True)
            # which images stayed robust at the main eps, for intervals of differences between models on the same
            # images (``robust_correct_at`` reads it back)
            res["robust_correct_main"] = pack_bools(res.pop("robust_correct")[p.main_eval_eps])
            res["clean_accuracy"] = accuracy(net, data.test_x, data.test_y)  # all test images
            xs, ys = x[:p.sanity_limit], y[:p.sanity_limit]
            surrogate = self.model(b.inputs["surrogate"]) if "surrogate" in b.inputs else None
            res["sanity"] = {eps: sanity_checks(
                net, xs, ys, norm="l2", eps=eps, steps=p.eval_steps, step_factor=p.sanity_steps_factor,
                restarts=p.sanity_restarts, surrogate=surrogate, seed=self.seed,
                unbounded=True) for eps in (p.main_eval_eps,)}  # the eps the claims read: the others feed none
            return res

        return self.store.get("eval", params, make, inputs=inputs, label=f"evaluate {name}").summary

    def robust_correct_at(self, ev: dict) -> list[bool] | None:
        """Which of the evaluation's images stayed robust at the main eps (None for an evaluation stored before
        they were kept)."""
        packed = ev.get("robust_correct_main")
        return None if packed is None else unpack_bools(packed, self.eval_images)

    @property
    def eval_images(self) -> int:
        """How many test images the robust accuracies are measured on (clean accuracy uses all of them)."""
        return min(self.preset.eval_limit or len(self.data.test_x), len(self.data.test_x))

    @staticmethod
    def scores(ev: dict) -> dict:
        """An evaluation's accuracies and the attack checks' flags per eps."""
        return {"clean_accuracy": ev["clean_accuracy"], "robust_accuracy": ev["robust_accuracy"],
                "sanity_flags": {eps: rep["flags"] for eps, rep in ev["sanity"].items()}}

