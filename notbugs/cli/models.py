"""``notbugs train``, ``eval`` and ``construct``: one model or one dataset, from the command line."""

from __future__ import annotations

from ..core.errors import NotbugsError
from .output import check_device, output_folder


def train(args) -> None:
    from ..data import load_dataset
    from ..methods.tasks import train_model
    from ..methods.train import TrainConfig
    from ..store.sharding import init_distributed

    check_device(args.device)
    if args.eps is not None and not args.adv:
        raise NotbugsError(f"--eps {args.eps:g} without --adv would train a standard model; add --adv l2 or "
                           "--adv linf for adversarial training, or drop --eps")
    if args.adv and args.eps is None:
        raise NotbugsError(f"--adv {args.adv} needs --eps, the training eps (e.g. 0.5 for L2 or 8/255 for Linf "
                           "on CIFAR-10)")
    if args.fgsm_rs and not args.adv:
        raise NotbugsError("--fgsm-rs is a kind of adversarial training; add --adv l2 or --adv linf and --eps")
    eps = args.eps or 0.0
    steps, step_size, random_start = args.steps, args.step_size, args.random_start
    if args.fgsm_rs:
        steps, step_size, random_start = 1, 1.25 * eps, True
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 1e-3)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=lr,
                      weight_decay=args.weight_decay, schedule=args.schedule,
                      crop_padding=0 if args.no_augment else args.crop_padding, flip=not args.no_augment,
                      adv=args.adv, eps=eps,
                      steps=steps, step_size=step_size, random_start=random_start, seed=args.seed,
                      device=args.device, amp=args.amp, compile=args.compile)
    cfg.validate()
    data = load_dataset(args.dataset)
    init_distributed(args.device)
    with output_folder(args.out) as into:
        info = train_model(data, args.arch, cfg, into, train_limit=args.train_limit, progress=not args.quiet)
    if info is None:  # not the first torchrun process: it saved nothing and says nothing
        return
    m = info["metrics"]
    kind = f"adversarial ({args.adv}, eps {eps:g}, {'FGSM-RS' if args.fgsm_rs else f'{steps} steps'})" \
        if args.adv else "standard"
    print(f"{kind} training of {args.arch} on {data.name} ({info['train_size']} images, {args.epochs} epochs): "
          f"test accuracy {m['test_clean_accuracy']:.4f}, {m['train_seconds']:.0f} s")
    print(f"model written to {args.out}/")


def evaluate(args) -> None:
    from ..core.storage import write_json
    from ..methods.tasks import evaluate_model

    check_device(args.device)
    if args.out is not None and args.out.is_dir():
        raise NotbugsError(f"--out {args.out} is a folder; give the path of a JSON file to write")
    autoattack = args.autoattack or args.strong
    result = evaluate_model(args.model, args.dataset, norm=args.norm, eps_list=args.eps, steps=args.steps,
                            arch=args.arch, limit=args.limit, seed=args.seed, device=args.device,
                            progress=not args.quiet, sanity=args.sanity, autoattack=autoattack,
                            surrogate=args.surrogate)
    print(f"{result['dataset']} test set, {result['attack']['n']} images, {args.norm} PGD-{args.steps}")
    print(f"  clean accuracy   {result['clean_accuracy']:.4f}")
    for eps, acc in result["robust_accuracy"].items():
        print(f"  robust eps={eps:<6g} {acc:.4f}")
        aa = result.get("autoattack", {}).get(eps)
        if aa is not None:
            after = ", ".join(f"{s['attack']} {s['robust_accuracy']:.4f}" for s in aa["after"][1:])
            print(f"    AutoAttack     {aa['robust_accuracy']:.4f}  (after {after}; {aa['seconds']:.0f} s)")
    for eps, report in result.get("sanity", {}).items():
        print(f"  sanity at eps={eps:g} (tolerance {report['tolerance']:.3f}):")
        for c in report["checks"]:
            print(f"    [{'ok' if c['passed'] else 'WARNING'}] {c['check']:<18} {c['detail']}")
    if args.out:
        write_json(args.out, result)
        print(f"results written to {args.out}")


def construct(args) -> None:
    from ..frame.presets import relabel_eps
    from ..methods.tasks import construct_dataset
    from ..store.sharding import init_distributed

    check_device(args.device)
    init_distributed(args.device)
    with output_folder(args.out) as into:
        info = construct_dataset(args.kind, args.model, args.dataset, args.out, robust_model=args.robust_model,
                                 limit=args.limit, steps=args.steps, step_size=args.step_size, norm=args.norm,
                                 eps=args.eps, default_eps=relabel_eps, noise_std=args.noise_std,
                                 noise_samples=args.noise_samples,
                                 start=args.start, seed=args.seed, device=args.device, progress=not args.quiet,
                                 arch=args.arch, features_layer=args.features_layer, robust_arch=args.robust_arch,
                                 into=into)
    if info is None:
        return
    for key, value in info["stats"].items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"  {key:<34} {shown}")
    print(f"dataset written to {args.out}/ (data.safetensors, manifest.json, samples.png); train on it with "
          f"--dataset built:{args.out}")
