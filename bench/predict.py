"""Prediction speed: a loop of fastai's `learn.predict` against namethatdog's batched `BreedModel.predict`,
on the same model and the same photos, in one process. The last line printed is a JSON object.

    python bench/predict.py [--n 256] [--arch resnet18] [--size 224] [--presize 460] [--bs 32] [--rounds 3]

Each rate is the median of `rounds` interleaved rounds; `ratio` and `share_of_forward` are the medians of each round's quotients.
Two more figures say where the rest of the time goes: preprocessing alone (`preprocess_img_per_s`), and the forward pass
while one thread preprocesses beside it (`forward_beside_preprocessing_img_per_s`); `sequential_bound_share` is the share
of the forward rate left if preprocessing and the forward pass took turns, each with both cores.

Photos: the real Oxford-IIIT Pet sample in ../shared when present, else generated photos of about 500×375."""
import argparse, json, statistics, threading, time, warnings
warnings.filterwarnings('ignore')
import torch
from common import photos, scratch
from namethatdog.data import pets_dls
from namethatdog.learner import breed_learner
from namethatdog.modelfile import save_model_dir, BreedModel
import namethatdog.predict  # adds BreedModel.predict

def rate(n, f):
    "Images per second of `f()` over `n` images"
    t = time.perf_counter(); f(); return n/(time.perf_counter()-t)

def main(n=256, arch='resnet18', size=224, presize=460, bs=32, rounds=3):
    tmp = scratch()
    files,src = photos(tmp, n)
    learn = breed_learner(pets_dls(files, bs=bs, presize=presize, size=size, num_workers=0), arch, pretrained=False)
    bm = BreedModel.load(save_model_dir(learn, tmp/'model'))
    _,_,p = learn.predict(files[0]); r = bm.predict(files[:2], top_k=len(bm.vocab))[0]  # warm up, and check they agree
    got = {o['label']: o['probability'] for o in r['top']}
    assert torch.allclose(torch.tensor([got[v] for v in bm.vocab]), p, atol=1e-5), 'predictions differ'
    def fastai_loop():
        with learn.no_bar():
            for f in files: learn.predict(f)
    xbs = [xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last) for _,xb in bm.batches(files, bs)]
    def forward():
        with torch.inference_mode():
            for xb in xbs: bm.model(xb)
    def preprocess():
        for _ in bm.batches(files, bs): pass
    def forward_beside_preprocessing():
        "The forward pass while one thread decodes and resizes photos, as it must when the two overlap"
        stop = threading.Event()
        def busy():
            while not stop.is_set(): preprocess()
        th = threading.Thread(target=busy); th.start()
        try: return rate(len(files), forward)
        finally: stop.set(); th.join()
    runs = [(rate(len(files), fastai_loop), rate(len(files), lambda: bm.predict(files, bs=bs, progress=False)), rate(len(files), forward))
            for _ in range(rounds)]  # interleaved rounds; medians, since the machine is noisy
    # where the rest goes: preprocessing alone, and the forward pass slowed by preprocessing beside it
    prep,shared = (statistics.median(rate(len(files), f) for _ in range(rounds)) for f in (preprocess, forward_beside_preprocessing))
    fa,ours,fwd = (statistics.median(r[i] for r in runs) for i in range(3))
    res = dict(images=len(files), photos=src, arch=arch, size=size, presize=presize,
               bs=bs, threads=torch.get_num_threads(), rounds=rounds, fastai_img_per_s=round(fa, 2), namethatdog_img_per_s=round(ours, 2),
               forward_img_per_s=round(fwd, 2),
               # each round times the three side by side, so its quotients are paired; the medians of those
               # are steadier on a noisy machine than quotients of medians taken from different rounds
               ratio=round(statistics.median(o/f for f,o,_ in runs), 2), share_of_forward=round(statistics.median(o/w for _,o,w in runs), 3),
               ratios=[round(o/f, 2) for f,o,_ in runs], shares_of_forward=[round(o/w, 3) for _,o,w in runs],
               preprocess_img_per_s=round(prep, 2), forward_beside_preprocessing_img_per_s=round(shared, 2),
               sequential_bound_share=round(1/(1/prep + 1/fwd)/fwd, 3))
    print(f"fastai learn.predict loop: {fa:.1f} img/s; namethatdog predict: {ours:.1f} img/s; "
          f"forward pass alone: {fwd:.1f} img/s")
    print(json.dumps(res))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(n=256, arch='resnet18', size=224, presize=460, bs=32, rounds=3).items(): ap.add_argument(f'--{k}', type=type(v), default=v)
    main(**vars(ap.parse_args()))
