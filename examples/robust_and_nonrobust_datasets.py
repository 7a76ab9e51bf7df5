# %% [markdown]
# # D_R and D_det from the public API
#
# Ilyas et al. (2019), section 3, in plain calls: no Lab, no store. Train a standard and an adversarially
# trained model; build **D_R** (each image re-synthesised to match the robust model's features: robust features
# only) and **D_det** (each image nudged by the standard model towards the class y+1 and labelled y+1: only
# non-robust features agree with the label); train a fresh model on each and measure it on the *original* test
# set. The defaults take about a minute on digits; `--dataset fashion-mnist --limit 4000 --epochs 10 --eps 2`
# shows the paper's effect (see `notbugs reproduce paper` for the full recipe). Opens as a notebook with
# jupytext.

# %%
import argparse
import sys

import notbugs
from notbugs.data import subset
from notbugs.methods.train import train

parser = argparse.ArgumentParser(description="D_R and D_det from the public API")
parser.add_argument("--dataset", default="digits")
parser.add_argument("--limit", type=int, default=1000, help="training images to build the datasets from")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--eps", type=float, default=1.0, help="L2 eps of adversarial training and of D_det")
parser.add_argument("--inversion-steps", type=int, default=100)
args = parser.parse_args([] if "ipykernel" in sys.modules else None)

data = notbugs.load_dataset(args.dataset)
x, y = subset(data.train_x, data.train_y, args.limit, seed=0)


def fresh_model():
    return notbugs.build_model(notbugs.model_spec("cnn", data.image_shape, data.num_classes, data.mean, data.std))


def fit(images, labels, **adversarial):
    model = fresh_model()
    train(model, images, labels, notbugs.TrainConfig(epochs=args.epochs, crop_padding=0, flip=False, **adversarial),
          progress=False)
    return model.eval()


# %% The two source models
standard = fit(x, y)
robust = fit(x, y, adv="l2", eps=args.eps, steps=5, random_start=True)
for name, m in (("standard", standard), ("robust", robust)):
    print(f"{name:>8}: clean {notbugs.accuracy(m, data.test_x, data.test_y):.1%}, at eps {args.eps:g} "
          f"{notbugs.robust_accuracy(m, data.test_x, data.test_y, norm='l2', eps=args.eps, steps=10):.1%}")

# %% D_R: invert the robust model's representation, starting from another image
d_r = notbugs.feature_dataset(robust, x, y, notbugs.InversionConfig(steps=args.inversion_steps, step_size=1.0,
                                                                     schedule="cosine", fake_relu=True),
                              progress=False)
print(f"D_R: features {d_r['stats']['relative_feature_distance_mean']:.1%} from their targets on average")

# %% D_det: targeted attack towards y+1 on the standard model, relabelled y+1
d_det = notbugs.relabelled_dataset(standard, x, y, data.num_classes,
                                   notbugs.RelabelConfig(mode="det", eps=args.eps, steps=10), progress=False)
print(f"D_det: the attack fooled the standard model on {d_det['stats']['attack_success']:.1%} of the images")

# %% Fresh models on each, measured on the original test set
for name, built in (("D_R", d_r), ("D_det", d_det)):
    m = fit(built["x"], built["y"])
    print(f"{name:>5}: clean {notbugs.accuracy(m, data.test_x, data.test_y):.1%}, at eps {args.eps:g} "
          f"{notbugs.robust_accuracy(m, data.test_x, data.test_y, norm='l2', eps=args.eps, steps=10):.1%}")
