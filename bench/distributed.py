"""Training in one process against two (`namethatdog train --distributed --nproc 2`, fastai's distrib_ctx on gloo), the
same run otherwise: same photos, settings, seed and global batch size. Each run is a fresh `namethatdog train` process
(start-up, data doctor, presize cache, training, interpretation, model files), timed from the outside; `train_seconds`
is the training alone, as metrics.json records it. The last line printed is a JSON object.

    python bench/distributed.py [--seeds 42 1 2]

One run of each per seed, interleaved (the machine's drift falls on both); the error differs between seeds more than
between one and two processes, so both are given per seed and as means.

Photos: the three large breeds of the real Oxford-IIIT Pet sample in ../shared, fine-tuned from the shared
EfficientNet-Lite0 ImageNet weights (the task's default); without ../shared, toy pets from scratch."""
import argparse, json, os, statistics, subprocess, sys, time
from pathlib import Path
from common import SHARED, scratch

WEIGHTS = SHARED.parent.parent.parent/'weights'/'efficientnet_lite0'/'tf_efficientnet_lite0.in1k.timm.pth'
BIG3 = ['Abyssinian', 'Bengal', 'american_bulldog']

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--seeds', type=int, nargs='+', default=[42, 1, 2])
    a = ap.parse_args()
    tmp,bin_ = scratch(),Path(sys.executable).parent
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'MPLBACKEND': 'Agg'}
    if SHARED.is_dir() and WEIGHTS.exists():
        data,args,what = SHARED,['--breeds', *BIG3, '--arch', 'tf_efficientnet_lite0', '--weights', str(WEIGHTS)],'shared sample, 3 breeds, tf_efficientnet_lite0 from the shared ImageNet weights, 128 px, 3 frozen epochs'
    else:
        from namethatdog.data import toy_pets
        data,args,what = toy_pets(tmp/'toy', n=60),['--no-pretrained', '--arch', 'resnet18', '--size', '64', '--epochs', '8', '--lr', '1e-2'],'toy pets, resnet18 from scratch, 64 px'
    rows = []
    for seed in a.seeds:
        for procs in (1, 2):
            out = tmp/f's{seed}p{procs}'
            cmd = [str(bin_/'namethatdog'), 'train', str(data), '--out', str(out), '--bs', '64', '--num-workers', '0', '--seed', str(seed), *args]
            if procs > 1: cmd += ['--distributed', '--nproc', str(procs)]
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            s = time.perf_counter()-t
            assert p.returncode == 0, p.stderr[-3000:]
            m = json.loads((out/'metrics.json').read_text())
            rows.append(dict(seed=seed, processes=procs, seconds=round(s, 1), train_seconds=m['train_seconds'], error_rate=round(m['error_rate'], 4),
                             valid_loss=round(m['valid_loss'], 4), n_valid=m['n_valid'], bs=m['bs']))
            print(rows[-1], flush=True)
    med = lambda p,k: statistics.median(o[k] for o in rows if o['processes']==p)
    mean = lambda p,k: round(statistics.mean(o[k] for o in rows if o['processes']==p), 4)
    res = dict(bench='distributed', data=what, cpus=os.cpu_count(), backend='gloo', seeds=a.seeds, rows=rows,
               seconds={p: med(p, 'seconds') for p in (1, 2)}, train_seconds={p: med(p, 'train_seconds') for p in (1, 2)},
               error_rate={p: mean(p, 'error_rate') for p in (1, 2)}, valid_loss={p: mean(p, 'valid_loss') for p in (1, 2)},
               ratio=round(med(1, 'train_seconds')/med(2, 'train_seconds'), 3))  # speed-up of training (medians): above 1, two processes are faster
    print(json.dumps(res))

if __name__ == '__main__': main()
