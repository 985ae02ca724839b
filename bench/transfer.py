"""Transfer learning on real photos: tf_efficientnet_lite0 from the official ImageNet weights in ../shared, against
training from scratch, on the same splits. One process; the last line printed is a JSON object.

    python bench/transfer.py [--sets big3,all37] [--methods scratch,probe,book_fine_tune,...] [--seeds 42,1,2]

Sets: `big3` is the three large breeds of the ../shared sample (Abyssinian, Bengal, american_bulldog, about 150 photos
each); `all37` is all 619 photos of 37 breeds (34 of them with only 5 photos: a few-shot problem). Methods (128 px):

- scratch: random weights, one-cycle on the whole network, 5 epochs at 1e-2
- probe: a fixed feature extractor: logistic regression on the pooled ImageNet features (centre crop)
- book_fine_tune: fastai's `fine_tune(3)` as the book runs it (BatchNorm trainable, `train_bn=True`)
- fine_tune: the same `fine_tune(3)` with the body's BatchNorm statistics kept (`BodyBnFreeze`, namethatdog's default)
- frozen: the head only, `fit_one_cycle(3, 3e-3)` with the body frozen and its BatchNorm kept
- discriminative: the book's recipe: `fit_one_cycle(3, 3e-3)` frozen, `unfreeze`, `fit_one_cycle(2, slice(1e-6, 1e-4))`
- train_default: `namethatdog train` with nothing but `--weights`, so its pretrained defaults (`train_pets`: the
  book's recipe, `fit_one_cycle(3, 3e-3)` on the head with the body frozen, no unfrozen epochs, 128 px, no lr_find),
  timed as the run reports it (data, training, interpretation and saving; not starting Python). Not in the default
  run: `--methods train_default`
- lr_valley, lr_slide, lr_minimum, lr_steep: `lr_find` (20 mini-batches) on the frozen pretrained learner, then
  `frozen` at that suggestion instead of 3e-3 (not in the default run: `--methods lr_valley,lr_slide,...`)

Each method runs once per seed (the seed draws the split too); figures are mean and standard deviation over seeds of
the validation error, top-5 error and wall time (data, learner and training)."""
import argparse, json, statistics, time, warnings
warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, torch, timm
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from common import photos, scratch, SHARED
from namethatdog.data import pets_dls, hash_splitter, pet_label, label_files
from namethatdog.learner import breed_learner, fit_breeds, find_lr, read_weights, check_weights
from namethatdog.features import embeddings
from namethatdog.runs import train_pets

WEIGHTS = SHARED.parent.parent.parent/'weights'/'efficientnet_lite0'/'tf_efficientnet_lite0.in1k.timm.pth'
ARCH, SIZE = 'tf_efficientnet_lite0', 128
SETS = dict(big3=['Abyssinian', 'Bengal', 'american_bulldog'], all37=None)
METHODS = ['scratch', 'probe', 'book_fine_tune', 'fine_tune', 'frozen', 'discriminative']

def top5(probs, targs):
    "Share of items whose target is not among the 5 most probable classes"
    k = min(5, probs.shape[1])
    return float((probs.topk(k, dim=1).indices != targs[:, None]).all(1).float().mean())

def probe(files, seed):
    "Logistic regression on pooled ImageNet features of the centre crop, on `pets_dls`' split"
    t0 = time.perf_counter()
    tr,va = hash_splitter(0.2, seed, label_func=pet_label)(files)
    m = timm.create_model(ARCH, pretrained=False, num_classes=0)
    sd = {k:v for k,v in read_weights(WEIGHTS).items() if not k.startswith('classifier.')}
    check_weights(m, sd); m.load_state_dict(sd, strict=False)
    X,y = embeddings(files, model=m, size=SIZE).numpy(),np.array(label_files(files))
    clf = LogisticRegression(C=1.0, max_iter=3000).fit(X[list(tr)], y[list(tr)])
    secs = time.perf_counter() - t0
    p = torch.tensor(clf.predict_proba(X[list(va)]))
    t = torch.tensor([list(clf.classes_).index(o) for o in y[list(va)]])
    return dict(seconds=secs, error_rate=float((p.argmax(1) != t).float().mean()), top5_error=top5(p, t), n_valid=len(va))

def learner_run(files, method, seed):
    "Train with `method`; wall time of data, learner and training, and validation error and top-5 error"
    t0 = time.perf_counter()
    dls = pets_dls(files, bs=64, seed=seed, size=SIZE, num_workers=0, cache=True, fast_aug=True)
    if method == 'scratch': learn = breed_learner(dls, ARCH, pretrained=False, precision='fp32')
    else: learn = breed_learner(dls, ARCH, weights=WEIGHTS, bn_freeze=method != 'book_fine_tune', precision='fp32')
    with learn.no_bar(), learn.no_logging():
        if method == 'scratch': fit_breeds(learn, 5, 1e-2, freeze_epochs=0)
        elif method in ('book_fine_tune', 'fine_tune'): learn.fine_tune(3)
        elif method == 'frozen': learn.fit_one_cycle(3, 3e-3)
        elif method.startswith('lr_'):
            lr = getattr(find_lr(learn, num_it=20), method[3:])
            plt.close('all')
            if lr != lr: raise SystemExit(f"lr_find gave no {method[3:]!r} suggestion (seed {seed})")
            learn.fit_one_cycle(3, lr)
        elif method == 'discriminative':
            learn.fit_one_cycle(3, 3e-3); learn.unfreeze(); learn.fit_one_cycle(2, slice(1e-6, 1e-4))
        secs = time.perf_counter() - t0
        p,t = learn.get_preds()
    return dict(seconds=secs, error_rate=float((p.argmax(1) != t).float().mean()), top5_error=top5(p, t), n_valid=len(t),
                **(dict(lr=float(lr)) if method.startswith('lr_') else {}))

def train_default(breeds, seed):
    "`namethatdog train DATA --arch tf_efficientnet_lite0 --weights W --breeds ... --seed seed`: its own metrics"
    out = scratch()/f'train_default_{seed}'
    m = train_pets(SHARED, out, arch=ARCH, weights=WEIGHTS, breeds=breeds, seed=seed, log=lambda s: None)
    return dict(seconds=m['seconds'], error_rate=m['error_rate'], top5_error=0. if len(m['vocab']) <= 5 else float('nan'),
                n_valid=m['n_valid'], size=m['size'])

def summary(runs):
    "Mean and standard deviation over seeds of each figure"
    out = {}
    for k in ('error_rate', 'top5_error', 'seconds'):
        v = [r[k] for r in runs]
        out[k] = round(statistics.mean(v), 4); out[k+'_std'] = round(statistics.stdev(v), 4) if len(v) > 1 else 0.
        out[k+'_runs'] = [round(o, 4) for o in v]
    return out

def main(sets='big3,all37', methods=','.join(METHODS), seeds='42,1,2'):
    if not WEIGHTS.exists(): raise SystemExit(f"{WEIGHTS}: the shared ImageNet weights are needed (see ../shared/weights/SOURCE.md)")
    res = {}
    for s in sets.split(','):
        files,src = photos(scratch(), breeds=SETS[s])
        res[s] = dict(n_photos=len(files), n_breeds=len(set(label_files(files))), photos=src, methods={})
        for m in methods.split(','):
            run = dict(probe=lambda sd: probe(files, sd), train_default=lambda sd: train_default(SETS[s], sd)).get(m, lambda sd: learner_run(files, m, sd))
            runs = [run(int(sd)) for sd in seeds.split(',')]
            r = res[s]['methods'][m] = dict(summary(runs), n_valid=runs[0]['n_valid'])
            if 'lr' in runs[0]: r['lrs'] = [o['lr'] for o in runs]
            if 'size' in runs[0]: r['size'] = runs[0]['size']
            print(f"{s:6s} {m:15s} error {r['error_rate']:.3f} ± {r['error_rate_std']:.3f} {r['error_rate_runs']}  "
                  f"top-5 {r['top5_error']:.3f}  {r['seconds']:6.1f} ± {r['seconds_std']:.1f} s", flush=True)
    print(json.dumps(dict(arch=ARCH, weights=WEIGHTS.name, size=SIZE, seeds=seeds, threads=torch.get_num_threads(), sets=res)))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(sets='big3,all37', methods=','.join(METHODS), seeds='42,1,2').items(): ap.add_argument(f'--{k}', default=v)
    main(**vars(ap.parse_args()))
