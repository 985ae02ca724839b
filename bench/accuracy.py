"""Accuracy and time on real photos: the three large breeds of the ../shared sample (Abyssinian, Bengal,
american_bulldog), resnet18 from scratch, 128 px, 8 epochs: the book's pipeline against namethatdog's defaults,
and variants that show what each change buys. One process; every variant sees the same splits. The last line printed is a JSON
object; ratio = book's wall time / namethatdog's (data, learner and training; goal: above 1 with error <= 0.20).

    python bench/accuracy.py [--variants book,namethatdog,...] [--epochs 8] [--seeds 42,1,2]

Each variant runs once per seed (the seed draws the split too); figures are means over the seeds, with each error.

Without ../shared it runs on generated photos (then the error rates say nothing about real photos)."""
import argparse, json, time, warnings
warnings.filterwarnings('ignore')
import torch
from fastai.vision.all import Adam, LabelSmoothingCrossEntropyFlat, CrossEntropyLossFlat
from common import photos, scratch
from namethatdog.data import pets_dls, default_presize
from namethatdog.learner import breed_learner, fit_breeds, find_lr

BREEDS = ['Abyssinian', 'Bengal', 'american_bulldog']
# name: (what it is, settings); 'book' is the baseline, 'namethatdog' the defaults of `namethatdog train`
VARIANTS = {
    'book': ("the book's pipeline: Resize(460) per item, aug_transforms, fastai Adam, fit_one_cycle(8, 3e-3), bs 64",
             dict(fast=False, presize=460, opt='adam', lr=3e-3, bs=64)),
    'book_lr1e-2': ("the book's pipeline at namethatdog's learning rate 1e-2", dict(fast=False, presize=460, opt='adam', lr=1e-2, bs=64)),
    'namethatdog': ("namethatdog's defaults: presize cache, one-resample augmentation, FusedAdamW, lr 1e-2, bs 64, presize 263",
                    dict(fast=True, presize=None, opt='fused', lr=1e-2, bs=64)),
    'presize460': ("namethatdog with the book's presize 460", dict(fast=True, presize=460, opt='fused', lr=1e-2, bs=64)),
    'bs32': ("namethatdog with batches of 32 (twice the steps)", dict(fast=True, presize=None, opt='fused', lr=1e-2, bs=32)),
    'bs16': ("namethatdog with batches of 16 (four times the steps)", dict(fast=True, presize=None, opt='fused', lr=1e-2, bs=16)),
    'label_smoothing': ("namethatdog with label smoothing", dict(fast=True, presize=None, opt='fused', lr=1e-2, bs=64, ls=True)),
    'lr_find': ("namethatdog with the lr_find 'valley' suggestion", dict(fast=True, presize=None, opt='fused', lr='valley', bs=64)),
    'fastai_adam': ("namethatdog with fastai's Adam instead of FusedAdamW", dict(fast=True, presize=None, opt='adam', lr=1e-2, bs=64)),
    'progressive': ("namethatdog with progressive resizing: half the epochs at 96 px, then 128 px", dict(fast=True, presize=None, opt='fused', lr=1e-2, bs=64, progressive=96)),
}

def run(files, name, epochs=8, size=128, seed=42):
    "Wall time (data, learner, training) and validation figures of one variant"
    s = VARIANTS[name][1]
    t0 = time.perf_counter()
    dls = pets_dls(files, bs=s['bs'], seed=seed, presize=s['presize'] or default_presize(size), size=size, num_workers=0, cache=s['fast'], fast_aug=s['fast'])
    loss = LabelSmoothingCrossEntropyFlat() if s.get('ls') else CrossEntropyLossFlat()
    opt = dict(opt_func=Adam) if s['opt'] == 'adam' else {}
    learn = breed_learner(dls, 'resnet18', pretrained=False, precision='fp32', loss_func=loss, **opt)
    lr = s['lr']
    if isinstance(lr, str):
        with learn.no_bar(), learn.no_logging(): lr = getattr(find_lr(learn, num_it=20), lr)
    with learn.no_bar(), learn.no_logging():
        if s.get('progressive'):  # the first half at a smaller size, then the rest at full size, as in the book's chapter 7
            small = pets_dls(files, bs=s['bs'], seed=seed, presize=s['presize'] or default_presize(size), size=s['progressive'], num_workers=0, cache=True, fast_aug=True)
            learn.dls = small
            fit_breeds(learn, epochs//2, lr, freeze_epochs=0)
            learn.dls = dls
            fit_breeds(learn, epochs - epochs//2, lr/2, freeze_epochs=0)
        else: fit_breeds(learn, epochs, lr, freeze_epochs=0)
    secs = time.perf_counter() - t0
    with learn.no_bar(): vl,err = learn.validate()
    return dict(seconds=round(secs, 1), error_rate=round(float(err), 4), valid_loss=round(float(vl), 4), lr=float(lr),
                n_train=len(dls.train_ds), n_valid=len(dls.valid_ds))

def main(variants='book,namethatdog,fastai_adam,bs32,label_smoothing,progressive', epochs=8, seeds='42,1,2'):
    files,src = photos(scratch(), breeds=BREEDS)
    res = {}
    for v in variants.split(','):
        runs = [run(files, v, epochs, seed=int(s)) for s in seeds.split(',')]
        mean = lambda k: round(sum(r[k] for r in runs)/len(runs), 4)
        res[v] = dict(seconds=round(mean('seconds'), 1), error_rate=mean('error_rate'), valid_loss=mean('valid_loss'),
                      error_rates=[r['error_rate'] for r in runs], lr=runs[0]['lr'], n_train=runs[0]['n_train'], n_valid=runs[0]['n_valid'])
        print(f"{v:16s} {res[v]['seconds']:7.1f} s  error {res[v]['error_rate']:.3f} {res[v]['error_rates']}  valid_loss {res[v]['valid_loss']:.3f}  ({VARIANTS[v][0]})", flush=True)
    out = dict(photos=src, breeds=BREEDS, arch='resnet18', pretrained=False, size=128, epochs=epochs, seeds=seeds,
               threads=torch.get_num_threads(), results=res)
    if 'book' in res and 'namethatdog' in res: out['ratio'] = round(res['book']['seconds'] / res['namethatdog']['seconds'], 2)
    print(json.dumps(out))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(variants='book,namethatdog,fastai_adam,bs32,label_smoothing,progressive', epochs=8, seeds='42,1,2').items():
        ap.add_argument(f'--{k}', type=type(v), default=v)
    main(**vars(ap.parse_args()))
