# %% [markdown]
# # Your own `nn.Module` through the lab
#
# Any PyTorch classifier can be attacked, evaluated, checked for gradient masking and used to build the paper's
# datasets: `notbugs.wrap` gives it the one thing the constructions need, `features(x)` (the representation,
# by default the input of the last linear layer). The attack takes torchattacks' call shape. Opens as a
# notebook with jupytext.

# %%
import argparse
import sys

import torch
from torch import nn

import notbugs
from notbugs.data import subset
from notbugs.methods.train import train

parser = argparse.ArgumentParser(description="your own nn.Module through the lab")
parser.add_argument("--dataset", default="digits")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--eps", type=float, default=1.0)
parser.add_argument("--limit", type=int, default=500, help="test images to evaluate on")
args = parser.parse_args([] if "ipykernel" in sys.modules else None)

data = notbugs.load_dataset(args.dataset)
channels, height, width = data.image_shape


# %% A model written without notbugs in mind
class MyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4))
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 64), nn.ReLU())
        self.classify = nn.Linear(64, data.num_classes)

    def forward(self, x):
        return self.classify(self.embed(self.conv(x)))


torch.manual_seed(0)
model = notbugs.wrap(MyNet(), features="embed")  # the representation: the output of `embed`
train(model, data.train_x, data.train_y, notbugs.TrainConfig(epochs=args.epochs, crop_padding=0, flip=False),
      progress=False)
model.eval()

# %% Attack it as with torchattacks, and evaluate
x, y = subset(data.test_x, data.test_y, args.limit, seed=0)
attack = notbugs.PGDL2(model, eps=args.eps, alpha=2.5 * args.eps / 20, steps=20)
x_adv = attack(x, y)
print(f"PGD-20 (L2 {args.eps:g}): accuracy {notbugs.accuracy(model, x_adv, y):.1%} "
      f"(clean {notbugs.accuracy(model, x, y):.1%}); largest perturbation "
      f"{(x_adv - x).flatten(1).norm(dim=1).max():.3f}")

# %% Is that number trustworthy? The sanity checks look for weak attacks and gradient masking
report = notbugs.sanity_checks(model, x, y, norm="l2", eps=args.eps, steps=20)
for check in report["checks"]:
    print(f"[{'ok' if check['passed'] else 'WARNING'}] {check['check']}: {check['detail']}")

# %% The paper's constructions take it too
d_det = notbugs.relabelled_dataset(model, x, y, data.num_classes,
                                   notbugs.RelabelConfig(mode="det", eps=args.eps, steps=10), progress=False)
d_r = notbugs.feature_dataset(model, x[:100], y[:100], notbugs.InversionConfig(steps=50, step_size=1.0,
                                                                               schedule="cosine"), progress=False)
print(f"D_det from your model: attack success {d_det['stats']['attack_success']:.1%}; D_NR from it: features "
      f"{d_r['stats']['relative_feature_distance_mean']:.1%} from their targets")
