"""Planted label noise: how many wrong labels does `namethatdog review` find out of fold (k = 5), against fastai's way
(top losses of one model trained on the noisy labels, judging the photos it learned from: k = 1)?

The three large breeds of the ../shared sample (Abyssinian, Bengal, american_bulldog) with EfficientNet-Lite0. For
each seed: 30 % of each breed is set aside as clean test photos that no choice touches; the other photos are laid out
as class folders (symlinks), and 10 % of them are planted in another breed's folder. Both reviews rank every photo of
the folders (label doubts and photos ImageNet finds unlike a pet, as `namethatdog review` ranks them); we count the planted photos among the first n and 2n rows (n = number planted). Then the linear head of
`train`'s CPU recipe is trained on the folders as they are, after excluding each review's top n, and on the true
labels, and its error is measured on the clean test photos.

    python bench/review_noise.py [--seeds 0,1,2] [--noise 0.1]

Features are computed once per photo (the review's `photo_features`, on a `names` layout of every photo); each seed
then builds its folders and runs `oof_probs` and `review_table` on them, as `namethatdog review` does. The last line
printed is a JSON object, also written to bench/results/review_noise.json. Needs ../shared.

Not free of choices: `namethatdog.review.NOT_PET` was chosen on the pet share of all 619 sample photos (these among
them). k, the recipe and the ranking were fixed before this ran; the test photos choose nothing."""
import argparse, json, time, warnings
warnings.filterwarnings('ignore')
from pathlib import Path
import numpy as np, torch
from common import SHARED, scratch, seconds
from namethatdog.data import pet_label, pet_files, select_breeds
from namethatdog.layouts import detect_layout
from namethatdog.review import photo_features, oof_probs, review_table, pet_share, _probe_logits
from namethatdog.heads import match_imagenet

BREEDS = ['Abyssinian', 'Bengal', 'american_bulldog']
WEIGHTS = SHARED.parent.parent.parent/'weights'/'efficientnet_lite0'/'tf_efficientnet_lite0.in1k.timm.pth'

def test_error(feats, targets, keep, test_feats, test_targets, vocab, imagenet):
    "Error on the clean test photos of the probe trained on the photos `keep` with `targets`"
    keep = torch.as_tensor(np.nonzero(keep)[0])
    logits = _probe_logits(feats[keep], targets[keep], test_feats, vocab, imagenet, match_imagenet(vocab) if imagenet is not None else {})
    return round(float((logits.argmax(1) != test_targets).float().mean()), 4)

def one_seed(seed, files, feats, vocab, imagenet, noise, tmp):
    rng = np.random.default_rng(seed)
    labels = np.array([pet_label(f) for f in files])
    test = np.zeros(len(files), bool)
    for b in vocab:  # 30 % of each breed: clean test photos
        idx = np.nonzero(labels == b)[0]
        test[rng.choice(idx, round(0.3*len(idx)), replace=False)] = True
    pool = np.nonzero(~test)[0]
    planted = rng.choice(pool, round(noise*len(pool)), replace=False)
    given = labels.copy()
    for i in planted: given[i] = rng.choice([b for b in vocab if b != labels[i]])
    data = tmp/f'seed{seed}'  # class folders of symlinks, the planted photos in another breed's folder
    for i in pool:
        (data/given[i]).mkdir(parents=True, exist_ok=True)
        (data/given[i]/files[i].name).symlink_to(files[i])
    lay = detect_layout(data)
    assert lay.kind == 'folders' and len(lay.files) == len(pool), lay.summary()
    row = {str(data/given[i]/files[i].name): i for i in pool}
    order = np.array([row[str(f)] for f in lay.files])  # photo index of each layout row
    f,t = feats[order],torch.tensor([vocab.index(l) for l in lay.labels])
    test_f,test_t = feats[np.nonzero(test)[0]],torch.tensor([vocab.index(l) for l in labels[test]])
    is_planted = np.isin(order, planted)
    n,res = len(planted),dict(seed=seed, photos=len(pool), planted=int(len(planted)), test_photos=int(test.sum()))
    for name,k in (('review_k5', 5), ('fastai_top_losses', 1)):
        s,probs = seconds(lambda: oof_probs(f, t, vocab, imagenet, k, seed))
        tab = review_table(lay, probs, vocab, pet_share(f, imagenet))  # as `review_photos`: photos unlike pets come first too
        rank = [lay.files.index(lay.root/p) for p in tab.path]  # layout rows, most suspect first
        res[name] = dict(first_n=round(float(is_planted[rank[:n]].mean()), 4), first_2n=round(float(is_planted[rank[:2*n]].sum() / n), 4),
                         doubted=int(tab.doubted.sum()), seconds=round(s, 2),
                         test_error_after_excluding_top_n=test_error(f, t, ~np.isin(np.arange(len(order)), rank[:n]), test_f, test_t, vocab, imagenet))
    true_t = torch.tensor([vocab.index(labels[i]) for i in order])
    res['test_error_noisy'] = test_error(f, t, np.ones(len(order), bool), test_f, test_t, vocab, imagenet)
    res['test_error_clean_labels'] = test_error(f, true_t, np.ones(len(order), bool), test_f, test_t, vocab, imagenet)
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--noise', type=float, default=0.1)
    a = ap.parse_args()
    if not SHARED.is_dir() or not WEIGHTS.is_file(): raise SystemExit(f"needs the photos in {SHARED} and the weights {WEIGHTS}")
    tmp = scratch()
    files = list(select_breeds(pet_files(SHARED), BREEDS))
    (tmp/'all').mkdir()
    for f in files: (tmp/'all'/f.name).symlink_to(f)
    lay = detect_layout(tmp/'all')
    s,(feats,targets,vocab,imagenet) = seconds(lambda: photo_features(lay, 'tf_efficientnet_lite0', WEIGHTS, 224))
    assert vocab == BREEDS
    feats = feats[[lay.files.index(tmp/'all'/f.name) for f in files]]
    runs = [one_seed(int(sd), files, feats, vocab, imagenet, a.noise, tmp) for sd in a.seeds.split(',')]
    mean = lambda *ks: round(float(np.mean([r[ks[0]] if len(ks) == 1 else r[ks[0]][ks[1]] for r in runs])), 4)
    out = dict(what=__doc__.splitlines()[0], arch='tf_efficientnet_lite0', size=224, breeds=BREEDS, noise=a.noise,
               feature_seconds=round(s, 1), photos=len(files), seeds=[r['seed'] for r in runs],
               mean={m: dict(first_n=mean(m, 'first_n'), first_2n=mean(m, 'first_2n'),
                             test_error_after_excluding_top_n=mean(m, 'test_error_after_excluding_top_n'))
                     for m in ('review_k5', 'fastai_top_losses')},
               mean_test_error_noisy=mean('test_error_noisy'), mean_test_error_clean_labels=mean('test_error_clean_labels'),
               runs=runs)
    Path(__file__).parent.joinpath('results', 'review_noise.json').write_text(json.dumps(out, indent=1) + '\n')
    print(json.dumps(out))

if __name__ == '__main__': main()
