"""Honest answers, measured on photos no choice was made on. One process; the last line printed is a JSON object,
also written to bench/results/honest.json.

    python bench/honest.py [--seeds 42,1,2] [--tasks big3,all37] [--methods train_default,book_default]

The protocol. The ../shared sample is split once, by a fixed rule, into a *selection* part and a *test* part: within
each breed, photos ranked by the SHA-256 of 'test:' + file name, the first quarter (at least one) are test.
Every choice (the probe's steps, rate and penalty, the image size, the open-set scores and their quantile) was made
on the selection part, with its validation splits (`seed` draws them); the test part is scored once per run and
reported beside the validation figure. Tasks: `big3` (Abyssinian, Bengal, american_bulldog, about 150 photos each)
and `all37` (all 37 breeds; 34 have 5 photos, so 3 or 4 to train on and 1 to test).

Methods, each trained on the selection part alone:
- train_default: `namethatdog train` with nothing but `--weights` (`train_pets`' defaults: the `probe` recipe at 224 px)
- book_default: the previous default, the book's frozen recipe (`--recipe discriminative`: `fit_one_cycle(3, 3e-3)`
  with the body frozen, 128 px, fastai's head)
- prototypes and probe_zero_init: the baselines on the same features (the pooled ImageNet features at 224 px of the
  training photos): cosine to the class means, and a class-balanced linear probe from zero (`heads.probe`, same
  steps and rate, no pull); zero_shot: the ImageNet classifier restricted to the breeds that match an ImageNet class,
  no training, on those breeds' test photos.

Reported per run: validation and test error, the test error on rare breeds (fewer than 20 photos), ECE (10 bins) of
the test part before and after temperature scaling, and for the big3 models: the share of their own test photos
answered known and right, of the other 34 breeds' test photos flagged unknown, and of 23 non-pet photos that
scikit-image ships (chelsea, a tabby cat, is kept apart: a cat of a breed the model does not know)."""
import argparse, hashlib, json, os, statistics, sys, time, warnings
warnings.filterwarnings('ignore')
from collections import defaultdict
from pathlib import Path
import numpy as np, torch
from common import SHARED, scratch
from namethatdog.data import pet_files, pet_label, hash_splitter
from namethatdog.runs import train_pets
from namethatdog.modelfile import BreedModel
from namethatdog.heads import split_head, probe, match_imagenet
from namethatdog.answers import Answers, softmax, ece, reliability
import namethatdog.predict  # adds BreedModel.batches

WEIGHTS = SHARED.parent.parent.parent/'weights'/'efficientnet_lite0'/'tf_efficientnet_lite0.in1k.timm.pth'
BIG3 = ['Abyssinian', 'Bengal', 'american_bulldog']
TEST_SHARE = 0.25
NONPET = ['astronaut.png', 'brick.png', 'camera.png', 'cell.png', 'chessboard_RGB.png', 'clock_motion.png', 'coffee.png', 'coins.png',
          'color.png', 'grass.png', 'gravel.png', 'horse.png', 'hubble_deep_field.jpg', 'ihc.png', 'logo.png', 'microaneurysms.png',
          'moon.png', 'motorcycle_left.png', 'page.png', 'phantom.png', 'retina.jpg', 'rocket.jpg', 'text.png']

def test_part(files)->set:
    "The protocol's test part: per breed, the first quarter (at least one) of its photos ranked by a hash of the name"
    by = defaultdict(list)
    for f in files: by[pet_label(f)].append(f)
    key = lambda f: hashlib.sha256(f'test:{f.name}'.encode()).hexdigest()
    return {f for fs in by.values() for f in sorted(fs, key=key)[:max(1, round(len(fs)*TEST_SHARE))]}

def link_folder(files, dest:Path)->Path:
    "A folder of symbolic links to `files` (nothing copied)"
    dest.mkdir(parents=True, exist_ok=True)
    for f in files: (dest/f.name).symlink_to(f.resolve())
    return dest

@torch.no_grad()
def outputs(bm, files)->tuple:
    "(raw logits, features) of `files` with the torch engine, in order"
    feat,lin = split_head(bm.model)
    zs,fs = [],[]
    for _,xb in bm.batches(files, ahead=False):
        f = feat(xb.as_subclass(torch.Tensor)).float(); zs.append(lin(f).numpy()); fs.append(f.numpy())
    return np.concatenate(zs).astype(np.float64),np.concatenate(fs).astype(np.float64)

def error(z, y, mask=None):
    e = z.argmax(1) != y
    return None if mask is not None and not mask.any() else round(float(e[mask].mean() if mask is not None else e.mean()), 4)

def score_run(mdir, test, rare, unknown, nonpet, cat):
    "Test figures of the model directory `mdir`"
    bm = BreedModel.load(mdir)
    vocab = bm.vocab
    z,f = outputs(bm, test)
    y = np.array([vocab.index(pet_label(p)) for p in test])
    t = bm.meta.get('temperature', 1.)
    rows = bm.answers(z, f, top_k=1)
    known = np.array([r['known'] for r in rows])
    r = dict(test_error=error(z, y), test_error_rare=error(z, y, rare), temperature=round(t, 3),
             ece_test_raw=round(ece(softmax(z), y), 4), ece_test=round(ece(softmax(z/t), y), 4),
             known_and_right=round(float((known & (z.argmax(1) == y)).mean()), 4), n_test=len(test))
    if unknown:
        ku = np.array([o['known'] for o in bm.answers(*outputs(bm, unknown), top_k=1)])
        kn = np.array([o['known'] for o in bm.answers(*outputs(bm, nonpet), top_k=1)])
        zu,_ = outputs(bm, unknown)
        r.update(unknown_flagged=round(float((~ku).mean()), 4), nonpet_flagged=round(float((~kn).mean()), 4),
                 cat_chelsea=bm.answers(*outputs(bm, [cat]), top_k=1)[0],
                 unknown_flagged_by_msp=round(float((softmax(zu/t).max(1) < .5).mean()), 4),
                 unknown_median_top_prob_raw=round(float(np.median(softmax(zu).max(1))), 4),
                 n_unknown=len(unknown), n_nonpet=len(nonpet))
    return r,(z, f, y, t)

def feature_baselines(mdir, sel, test, rare, seed):
    "prototypes, probe_zero_init and zero_shot on the pooled features of the train_default model's (frozen) body"
    bm = BreedModel.load(mdir)
    vocab = bm.vocab
    tr,_ = hash_splitter(0.2, seed, label_func=pet_label)(sel)
    trf = [sel[i] for i in tr]
    _,ftr = outputs(bm, trf)
    ytr = np.array([vocab.index(pet_label(p)) for p in trf])
    _,fte = outputs(bm, test)
    y = np.array([vocab.index(pet_label(p)) for p in test])
    means = np.stack([ftr[ytr == c].mean(0) for c in range(len(vocab))])
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    proto = (fte / np.linalg.norm(fte, axis=1, keepdims=True)) @ means.T
    w,b = probe(torch.tensor(ftr, dtype=torch.float32), torch.tensor(ytr), torch.zeros(len(vocab), ftr.shape[1]), torch.zeros(len(vocab)), l2sp=0.)
    zp = fte @ w.numpy().T.astype(np.float64) + b.numpy()
    out = dict(prototypes=dict(test_error=error(proto, y), test_error_rare=error(proto, y, rare)),
               probe_zero_init=dict(test_error=error(zp, y), test_error_rare=error(zp, y, rare)))
    if 'imagenet_weight' in bm.answers.arrays:
        m = match_imagenet(vocab)
        keep = np.array([vocab[c] in m for c in y])
        if keep.any():
            idx = [m[v] for v in vocab if v in m]
            zi = fte[keep] @ bm.answers.arrays['imagenet_weight'][idx].T + bm.answers.arrays['imagenet_bias'][idx]
            yi = np.array([[v for v in vocab if v in m].index(vocab[c]) for c in y[keep]])
            out['zero_shot'] = dict(test_error=error(zi, yi), n_test=int(keep.sum()), breeds=len(idx))
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', default='42,1,2'); ap.add_argument('--tasks', default='big3,all37')
    ap.add_argument('--methods', default='train_default,book_default')
    a = ap.parse_args()
    if not WEIGHTS.exists(): sys.exit(f"needs the shared photos and weights: {WEIGHTS} is missing")
    torch.set_num_threads(os.cpu_count())
    import skimage
    sk = Path(skimage.__file__).parent/'data'
    nonpet,cat = [sk/o for o in NONPET],sk/'chelsea.png'
    files = list(pet_files(SHARED))
    test = test_part(files)
    tmp = scratch()
    res = dict(protocol=dict(test_share=TEST_SHARE, n_test=len(test), n_selection=len(files)-len(test), rule="per breed, first quarter by sha256('test:' + name)"),
               runs=[], curves={})
    for task in a.tasks.split(','):
        breeds = BIG3 if task == 'big3' else sorted({pet_label(f) for f in files})
        counts = {b: sum(pet_label(f) == b for f in files) for b in breeds}
        sel = sorted(f for f in files if pet_label(f) in breeds and f not in test)
        te = sorted(f for f in files if pet_label(f) in breeds and f in test)
        rare = np.array([counts[pet_label(p)] < 20 for p in te])
        unknown = sorted(f for f in files if pet_label(f) not in breeds and f in test) if task == 'big3' else []
        data = link_folder(sel, tmp/f'{task}-selection')
        for seed in map(int, a.seeds.split(',')):
            for method in a.methods.split(','):
                out = tmp/f'{task}-{method}-{seed}'
                kw = dict(recipe='discriminative') if method == 'book_default' else {}
                t0 = time.time()
                m = train_pets(data, out, arch='tf_efficientnet_lite0', weights=WEIGHTS, seed=seed, log=lambda *a: None, **kw)
                r,(z,f,y,t) = score_run(out/'model', te, rare, unknown, nonpet, cat)
                row = dict(task=task, method=method, seed=seed, valid_error=round(m['error_rate'], 4), **r,
                           ece_valid_raw=m['calibration']['ece_before'], ece_valid=m['calibration']['ece_after'],
                           train_seconds=m['train_seconds'], seconds=m['seconds'], wall=round(time.time()-t0, 1))
                res['runs'].append(row); print(json.dumps(row), flush=True)
                if method == 'train_default':
                    for k,v in feature_baselines(out/'model', sel, te, rare, seed).items():
                        res['runs'].append(dict(task=task, method=k, seed=seed, **v)); print(json.dumps(res['runs'][-1]), flush=True)
                    if seed == 42:  # the data of the Honest answers page's plots
                        conf,acc,cnt = reliability(softmax(z), y); conf2,acc2,cnt2 = reliability(softmax(z/t), y)
                        c = dict(reliability_raw=[[round(float(x), 4) for x in o] for o in (conf, acc)] + [cnt.tolist()],
                                 reliability=[[round(float(x), 4) for x in o] for o in (conf2, acc2)] + [cnt2.tolist()])
                        if unknown:
                            bm = BreedModel.load(out/'model')
                            zu,fu = outputs(bm, unknown)
                            c.update(top_prob_known_raw=np.round(softmax(z).max(1), 4).tolist(), top_prob_unknown_raw=np.round(softmax(zu).max(1), 4).tolist(),
                                     top_prob_known=np.round(softmax(z/t).max(1), 4).tolist(), top_prob_unknown=np.round(softmax(zu/t).max(1), 4).tolist(),
                                     gallery=[dict(path=p.name, before=bm.vocab[int(zi.argmax())], before_prob=round(float(softmax(zi[None])[0].max()), 4), **{k: v for k,v in o.items() if k != 'top'})
                                              for p,zi,o in zip(unknown, zu, bm.answers(zu, fu, top_k=1))][::3])
                        res['curves'][task] = c
    summ = defaultdict(dict)
    for (task, method) in sorted({(r['task'], r['method']) for r in res['runs']}):
        rs = [r for r in res['runs'] if (r['task'], r['method']) == (task, method)]
        for k in rs[0]:
            vals = [r[k] for r in rs if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) and k != 'seed']
            if len(vals) == len(rs) and vals: summ[f'{task}/{method}'][k] = round(statistics.mean(vals), 4)
    res['summary'] = summ
    Path(__file__).parent.joinpath('results', 'honest.json').write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res['summary']))

if __name__ == '__main__': main()
