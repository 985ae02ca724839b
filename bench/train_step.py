"""Training-loop overhead: seconds per batch of namethatdog's fit loop (fastai's `Learner` with namethatdog's
`FusedAdamW`, one-cycle, metrics and callbacks) against a plain PyTorch loop (forward, loss, backward, fused AdamW
step) on the same model and the same tensors, in one process. fastai's own default optimizer (`Adam`) is timed too.
The last line printed is a JSON object; ratio = namethatdog seconds per batch / plain PyTorch (goal: at most 1.05).

    python bench/train_step.py [--arch resnet18] [--size 128] [--bs 64] [--batches 6] [--repeats 3]"""
import argparse, copy, json, statistics, warnings
warnings.filterwarnings('ignore')
import torch
from torch import nn
from fastai.vision.all import DataLoader, DataLoaders, CrossEntropyLossFlat, Adam
from common import seconds, scratch
from namethatdog.data import pets_dls, toy_pets
from namethatdog.learner import breed_learner, fit_breeds

def main(arch='resnet18', size=128, bs=64, batches=6, repeats=3, n_out=3):
    torch.manual_seed(0)
    xs = [(torch.rand(bs, 3, size, size), torch.randint(0, n_out, (bs,))) for _ in range(batches)]
    dls = DataLoaders(DataLoader(xs, bs=None), DataLoader(xs[:1], bs=None))
    toy = pets_dls(toy_pets(scratch(), n=4, breeds=['Abyssinian','Bengal','beagle']), bs=4, presize=48, size=32, num_workers=0)
    dls.vocab = toy.vocab
    mk = lambda **kw: breed_learner(dls, arch, pretrained=False, precision='fp32', loss_func=CrossEntropyLossFlat(), **kw)
    ours,fa = mk(),mk(opt_func=Adam)
    model = copy.deepcopy(ours.model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, fused=True)
    loss_func = nn.CrossEntropyLoss()
    def plain():
        model.train()
        for xb,yb in xs:
            loss_func(model(xb), yb).backward()
            opt.step(); opt.zero_grad()
    def fit(learn):
        with learn.no_bar(), learn.no_logging(): fit_breeds(learn, 1, 1e-3, freeze_epochs=0)
    # the learners also validate on one batch per epoch: time it alone and take it off
    def valid(learn):
        with learn.no_bar(), learn.no_logging(): learn.validate()
    runs = dict(plain=plain, namethatdog=lambda: fit(ours), fastai_adam=lambda: fit(fa))
    vals = dict(plain=lambda: None, namethatdog=lambda: valid(ours), fastai_adam=lambda: valid(fa))
    for f in runs.values(): f()  # warm up
    t = {k: [] for k in runs}
    for _ in range(repeats):
        for k,f in runs.items(): t[k].append((seconds(f)[0] - seconds(vals[k])[0]) / batches)
    s = {k: statistics.median(v) for k,v in t.items()}
    res = dict(arch=arch, size=size, bs=bs, batches=batches, repeats=repeats, threads=torch.get_num_threads(),
               plain_s_per_batch=round(s['plain'], 4), namethatdog_s_per_batch=round(s['namethatdog'], 4),
               fastai_adam_s_per_batch=round(s['fastai_adam'], 4),
               overhead_pct=round(100*(s['namethatdog']/s['plain']-1), 2), fastai_adam_overhead_pct=round(100*(s['fastai_adam']/s['plain']-1), 2),
               ratio=round(s['namethatdog']/s['plain'], 3))
    print(f"plain PyTorch: {s['plain']:.3f} s/batch; namethatdog fit loop: {s['namethatdog']:.3f} s/batch "
          f"({res['overhead_pct']:+.1f} %); fastai with its Adam: {s['fastai_adam']:.3f} s/batch ({res['fastai_adam_overhead_pct']:+.1f} %)")
    print(json.dumps(res))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(arch='resnet18', size=128, bs=64, batches=6, repeats=3).items(): ap.add_argument(f'--{k}', type=type(v), default=v)
    main(**vars(ap.parse_args()))
