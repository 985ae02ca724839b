"""Prediction speed: a loop of fastai's `learn.predict` against namethatdog's two engines, the batched
`BreedModel.predict` (PyTorch) and `OnnxBreedModel.predict` (onnxruntime, the model's ONNX export), on the same model and
the same photos, in one process; and the start-up of `namethatdog predict` with each engine (process start to first
result, one photo). The last line printed is a JSON object.

    python bench/predict.py [--n 256] [--arch resnet18] [--size 224] [--presize 460] [--bs 32] [--rounds 3]

Each rate is the median of `rounds` interleaved rounds; `ratio`, `share_of_forward`, `onnx_over_torch` and `onnx_over_fastai`
are the medians of each round's quotients. The raw forward pass of each engine runs on already-prepared batches.
Two more figures say where the rest of the time goes: preprocessing alone (`preprocess_img_per_s`), and the forward pass
while one thread preprocesses beside it (`forward_beside_preprocessing_img_per_s`); `sequential_bound_share` is the share
of the forward rate left if preprocessing and the forward pass took turns, each with both cores.

Photos: the real Oxford-IIIT Pet sample in ../shared when present, else generated photos of about 500×375."""
import argparse, json, statistics, subprocess, sys, threading, time, warnings
warnings.filterwarnings('ignore')
from pathlib import Path
import torch
from common import photos, scratch
from namethatdog.data import pets_dls
from namethatdog.learner import breed_learner
from namethatdog.modelfile import save_model_dir, BreedModel
import namethatdog.predict  # adds BreedModel.predict
from namethatdog.onnxengine import export_onnx, OnnxBreedModel

def rate(n, f):
    "Images per second of `f()` over `n` images"
    t = time.perf_counter(); f(); return n/(time.perf_counter()-t)

def startup(model, photo, engine):
    "Seconds from starting `namethatdog predict MODEL PHOTO --engine ENGINE` to its exit with the result"
    exe = str(Path(sys.executable).parent/'namethatdog')
    t = time.perf_counter()
    r = subprocess.run([exe, 'predict', str(model), str(photo), '--engine', engine], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr[-2000:]
    return time.perf_counter()-t

def main(n=256, arch='resnet18', size=224, presize=460, bs=32, rounds=3):
    tmp = scratch()
    files,src = photos(tmp, n)
    learn = breed_learner(pets_dls(files, bs=bs, presize=presize, size=size, num_workers=0), arch, pretrained=False)
    bm = BreedModel.load(save_model_dir(learn, tmp/'model'))
    _,_,p = learn.predict(files[0]); r = bm.predict(files[:2], top_k=len(bm.vocab))[0]  # warm up, and check they agree
    got = {o['label']: o['probability'] for o in r['top']}
    assert torch.allclose(torch.tensor([got[v] for v in bm.vocab]), p, atol=1e-5), 'predictions differ'
    export_onnx(tmp/'model')
    om = OnnxBreedModel.load(tmp/'model')
    ro = om.predict(files[:2], top_k=len(bm.vocab))[0]
    gro = {o['label']: o['probability'] for o in ro['top']}
    assert max(abs(gro[v] - got[v]) for v in bm.vocab) <= 2e-4, 'the onnx engine differs'
    nxbs = [xb for _,xb in om.batches(files, bs)]
    def onnx_forward():
        for xb in nxbs: om.session.run(None, {'input': xb})
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
    runs = [(rate(len(files), fastai_loop), rate(len(files), lambda: bm.predict(files, bs=bs, progress=False)), rate(len(files), forward),
             rate(len(files), lambda: om.predict(files, bs=bs, progress=False)), rate(len(files), onnx_forward))
            for _ in range(rounds)]  # interleaved rounds; medians, since the machine is noisy
    # where the rest goes: preprocessing alone, and the forward pass slowed by preprocessing beside it
    prep,shared = (statistics.median(rate(len(files), f) for _ in range(rounds)) for f in (preprocess, forward_beside_preprocessing))
    fa,ours,fwd,onnx,ofwd = (statistics.median(r[i] for r in runs) for i in range(5))
    starts = {e: statistics.median(startup(tmp/'model', files[0], e) for _ in range(rounds)) for e in ('torch', 'onnx')}
    res = dict(images=len(files), photos=src, arch=arch, size=size, presize=presize,
               bs=bs, threads=torch.get_num_threads(), rounds=rounds, fastai_img_per_s=round(fa, 2), namethatdog_img_per_s=round(ours, 2),
               forward_img_per_s=round(fwd, 2),
               # each round times the three side by side, so its quotients are paired; the medians of those
               # are steadier on a noisy machine than quotients of medians taken from different rounds
               ratio=round(statistics.median(o/f for f,o,*_ in runs), 2), share_of_forward=round(statistics.median(o/w for _,o,w,*_ in runs), 3),
               ratios=[round(o/f, 2) for f,o,*_ in runs], shares_of_forward=[round(o/w, 3) for _,o,w,*_ in runs],
               preprocess_img_per_s=round(prep, 2), forward_beside_preprocessing_img_per_s=round(shared, 2),
               sequential_bound_share=round(1/(1/prep + 1/fwd)/fwd, 3),
               onnx_img_per_s=round(onnx, 2), onnx_forward_img_per_s=round(ofwd, 2),
               onnx_over_torch=round(statistics.median(r[3]/r[1] for r in runs), 2), onnx_over_fastai=round(statistics.median(r[3]/r[0] for r in runs), 2),
               startup_s={e: round(v, 2) for e,v in starts.items()})
    print(f"fastai learn.predict loop: {fa:.1f} img/s; namethatdog torch: {ours:.1f} img/s (forward alone {fwd:.1f}); "
          f"namethatdog onnx: {onnx:.1f} img/s (forward alone {ofwd:.1f}); start-up torch {starts['torch']:.1f} s, onnx {starts['onnx']:.1f} s")
    print(json.dumps(res))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(n=256, arch='resnet18', size=224, presize=460, bs=32, rounds=3).items(): ap.add_argument(f'--{k}', type=type(v), default=v)
    main(**vars(ap.parse_args()))
