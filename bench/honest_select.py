"""The choices behind `train`'s default, made on the selection part of the protocol alone (bench/honest.py says how
the sample is split; no photo of the test part is read here). The last line printed is a JSON object, also written to
bench/results/honest_select.json.

    python bench/honest_select.py [--seeds 42,1,2]

Features: the pooled ImageNet features of EfficientNet-Lite0 (the shared weights) of every selection photo and its
mirror image, at validation preprocessing (`namethatdog.inference.preprocess`), at 224 and 160 px. For each seed,
`hash_splitter(0.2, seed)` draws the validation photos inside the selection part, as `train` does.

- head: validation error (all; rare breeds) of the linear head variants, big3 and all37, mean over seeds;
- openset: for big3 models (probe from imprinted rows, 224 px), how well each familiarity score separates the
  validation photos from the photos of the other 34 breeds in the selection part (AUROC), and the share of those
  flagged, at thresholds set at quantiles of the validation scores."""
import argparse, json, os, statistics, sys, warnings
warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, torch, timm
from sklearn.metrics import roc_auc_score
from common import SHARED
from honest import WEIGHTS, BIG3, test_part
from namethatdog.data import pet_files, pet_label, hash_splitter
from namethatdog.inference import preprocess, image_batches
from namethatdog.heads import init_rows, probe, match_imagenet, fit_temperature
from namethatdog.answers import softmax, energy, cosine_to_means, PET_CLASSES

def features(files, size):
    "(features, mirrored features, ImageNet weight, bias) at validation preprocessing"
    m = timm.create_model('tf_efficientnet_lite0', pretrained=False)
    m.load_state_dict(torch.load(WEIGHTS, weights_only=True)); m.eval()
    meta = dict(presize=round(size*460/224), size=[size, size], normalize=dict(mean=[.5]*3, std=[.5]*3))
    out = [[], []]
    with torch.inference_mode():
        for _,xb in image_batches(files, lambda f: preprocess(f, meta), 64):
            x = torch.from_numpy(xb)
            for o,v in zip(out, (x, x.flip(3))): o.append(m.forward_head(m.forward_features(v), pre_logits=True).numpy())
    return np.concatenate(out[0]), np.concatenate(out[1]), m.classifier.weight.detach(), m.classifier.bias.detach()

VARIANTS = {  # name: (init, flips, probe kwargs)
    'prototypes': None,
    'probe from zero (wd 1e-4)': ('zero', True, dict(l2sp=0.)),
    'probe from imprinted rows only': ('imprint', True, dict(l2sp=1e-3)),
    'probe from transplanted + imprinted rows, no pull': ('transplant', True, dict(l2sp=0.)),
    'chosen: transplanted + imprinted, L2-SP 1e-3, 300 steps at 1e-3': ('transplant', True, dict(l2sp=1e-3)),
    'L2-SP 1e-2': ('transplant', True, dict(l2sp=1e-2)),
    'L2-SP 1e-4': ('transplant', True, dict(l2sp=1e-4)),
    '600 steps': ('transplant', True, dict(l2sp=1e-3, steps=600)),
    '150 steps': ('transplant', True, dict(l2sp=1e-3, steps=150)),
    'rate 3e-3': ('transplant', True, dict(l2sp=1e-3, lr=3e-3)),
    'no mirror images': ('transplant', False, dict(l2sp=1e-3)),
}

def run_head(F, Ff, y, vocab, W, b, tr, va, rare, variant, match):
    X = torch.tensor(np.concatenate([F[tr], Ff[tr]]) if variant[1] else F[tr]); Y = torch.tensor(np.concatenate([y[tr], y[tr]]) if variant[1] else y[tr])
    kind,_,kw = variant
    if kind == 'zero': w0,b0 = torch.zeros(len(vocab), X.shape[1]),torch.zeros(len(vocab))
    else: w0,b0,_,_ = init_rows(X, Y, vocab, (W, b), match if kind == 'transplant' else {})
    if kind == 'zero':  # plain weight decay, as the class-balanced logistic probe
        w,b_ = w0.clone().requires_grad_(),b0.clone().requires_grad_()
        cnt = torch.bincount(Y, minlength=len(vocab)).float(); cw = (1/cnt) / (1/cnt).mean()
        opt = torch.optim.Adam([w, b_], lr=1e-3)
        for _ in range(300):
            loss = torch.nn.functional.cross_entropy(X @ w.T + b_, Y, weight=cw) + 1e-4*(w**2).sum()
            opt.zero_grad(); loss.backward(); opt.step()
        w,b_ = w.detach(),b_.detach()
    else: w,b_ = probe(X, Y, w0, b0, **kw)
    z = F[va] @ w.numpy().T + b_.numpy()
    e = z.argmax(1) != y[va]
    return float(e.mean()), (float(e[rare[va]].mean()) if rare[va].any() else None), (w, b_)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--seeds', default='42,1,2'); a = ap.parse_args()
    if not WEIGHTS.exists(): sys.exit(f"needs the shared photos and weights: {WEIGHTS} is missing")
    torch.set_num_threads(os.cpu_count())
    files = list(pet_files(SHARED)); test = test_part(files)
    sel = [f for f in files if f not in test]
    lab = np.array([pet_label(f) for f in sel]); counts = {l: int((lab == l).sum()) for l in set(lab)}
    res = dict(n_selection=len(sel), head={}, openset={})
    feats = {s: features(sel, s) for s in (224, 160)}
    seeds = list(map(int, a.seeds.split(',')))
    for task,breeds in (('big3', BIG3), ('all37', sorted(set(lab)))):
        idx = np.array([l in breeds for l in lab]); vocab = sorted(breeds)
        files_t = [f for f,k in zip(sel, idx) if k]; y = np.array([vocab.index(l) for l in lab[idx]]); rare = np.array([counts[l] < 15 for l in lab[idx]])
        match = match_imagenet(vocab)
        for size in (224, 160):
            F,Ff,W,b = feats[size]; F,Ff = F[idx],Ff[idx]
            for name,v in VARIANTS.items():
                if size == 160 and not name.startswith('chosen'): continue
                errs = []
                for seed in seeds:
                    tr,va = (np.array(list(o)) for o in hash_splitter(0.2, seed, label_func=pet_label)(files_t))
                    if v is None:
                        mu = np.stack([F[tr][y[tr] == c].mean(0) for c in range(len(vocab))]); mu /= np.linalg.norm(mu, axis=1, keepdims=True)
                        e = ((F[va] / np.linalg.norm(F[va], axis=1, keepdims=True)) @ mu.T).argmax(1) != y[va]
                        errs.append((float(e.mean()), float(e[rare[va]].mean()) if rare[va].any() else None))
                    else: errs.append(run_head(F, Ff, y, vocab, W, b, tr, va, rare, v, match)[:2])
                key = f'{name} ({size} px)'
                res['head'].setdefault(task, {})[key] = dict(valid_error=round(statistics.mean(o[0] for o in errs), 4),
                    valid_error_rare=round(statistics.mean(o[1] for o in errs), 4) if errs[0][1] is not None else None)
                print(task, key, res['head'][task][key], flush=True)
    # open-set scores of big3 models against the other breeds' selection photos
    F,Ff,W,b = feats[224]
    idx = np.array([l in BIG3 for l in lab]); vocab = BIG3; files_t = [f for f,k in zip(sel, idx) if k]
    y = np.array([vocab.index(l) for l in lab[idx]]); Fk,Ffk,Fu = F[idx],Ff[idx],F[~idx]
    rows = {}
    for seed in seeds:
        tr,va = (np.array(list(o)) for o in hash_splitter(0.2, seed, label_func=pet_label)(files_t))
        _,_,(w,bb) = run_head(Fk, Ffk, y, vocab, W, b, tr, va, np.zeros(len(y), bool), VARIANTS['chosen: transplanted + imprinted, L2-SP 1e-3, 300 steps at 1e-3'], {})
        lin = lambda X: X @ w.numpy().T.astype(np.float64) + bb.numpy()
        t = fit_temperature(torch.tensor(lin(Fk[va])), torch.tensor(y[va]))
        mu = np.stack([Fk[tr][y[tr] == c].mean(0) for c in range(3)]); mu /= np.linalg.norm(mu, axis=1, keepdims=True)
        q = softmax(Fk[tr] @ W.numpy().T + b.numpy()).mean(0)
        def scores(X):
            z = lin(X)/t; pin = softmax(X @ W.numpy().T + b.numpy())
            return dict(max_softmax=softmax(z).max(1), energy=energy(z), cosine=cosine_to_means(X, mu), imagenet_pet_mass=pin[:, PET_CLASSES].sum(1),
                        imagenet_familiar_mass=(pin @ q) / q.max())
        sv,su = scores(Fk[va]),scores(Fu)
        z = lambda s,X: (X - np.median(sv[s])) / np.subtract(*np.quantile(sv[s], [.75, .25]))
        combos = {**{k: [k] for k in sv}, 'energy + cosine (chosen)': ['energy', 'cosine'], 'energy + cosine + familiar mass': ['energy', 'cosine', 'imagenet_familiar_mass']}
        for name,ks in combos.items():
            cv,cu = np.mean([z(k, sv[k]) for k in ks], 0),np.mean([z(k, su[k]) for k in ks], 0)
            r = rows.setdefault(name, {'auroc': [], **{f'flagged_at_q{q_}': [] for q_ in (0.02, 0.05, 0.1)}})
            r['auroc'].append(roc_auc_score(np.r_[np.ones(len(cv)), np.zeros(len(cu))], np.r_[cv, cu]))
            for q_ in (0.02, 0.05, 0.1): r[f'flagged_at_q{q_}'].append(float((cu < np.quantile(cv, q_)).mean()))
    res['openset'] = {k: {m: round(statistics.mean(v), 4) for m,v in r.items()} for k,r in rows.items()}
    res['openset_n'] = dict(known_valid_per_seed='about 70', other_breeds=int((~idx).sum()))
    for k,v in res['openset'].items(): print(k, v)
    Path(__file__).parent.joinpath('results', 'honest_select.json').write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res))

if __name__ == '__main__': main()
