"""Prediction speed: a loop of fastai's `learn.predict` against namethatdog's batched `BreedModel.predict`,
on the same model and the same photos, in one process. The last line printed is a JSON object.

    python bench/predict.py [--n 256] [--arch resnet18] [--size 224] [--presize 460] [--bs 32]

Photos: the real Oxford-IIIT Pet sample in ../shared when present, else generated toy pets."""
import argparse, json, tempfile, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
import torch
from namethatdog.data import pets_dls, pet_files, toy_pets
from namethatdog.learner import breed_learner
from namethatdog.export import save_model_dir, BreedModel

SHARED = Path(__file__).resolve().parent.parent.parent/'shared'/'data'/'oxford-pets-sample'/'images'

def rate(n, f):
    "Images per second of `f()` over `n` images"
    t = time.perf_counter(); f(); return n/(time.perf_counter()-t)

def main(n=256, arch='resnet18', size=224, presize=460, bs=32):
    tmp = Path(tempfile.mkdtemp())
    src = SHARED if SHARED.is_dir() else toy_pets(tmp/'toy', n=-(-n//6))
    files = list(pet_files(src)[:n])
    learn = breed_learner(pets_dls(files, bs=bs, presize=presize, size=size, num_workers=0), arch, pretrained=False)
    bm = BreedModel.load(save_model_dir(learn, tmp/'model'))
    _,_,p = learn.predict(files[0]); r = bm.predict(files[:2], top_k=len(bm.vocab))[0]  # warm up, and check they agree
    got = {o['label']: o['probability'] for o in r['top']}
    assert torch.allclose(torch.tensor([got[v] for v in bm.vocab]), p, atol=1e-5), 'predictions differ'
    def fastai_loop():
        with learn.no_bar():
            for f in files: learn.predict(f)
    fa = rate(len(files), fastai_loop)
    ours = rate(len(files), lambda: bm.predict(files, bs=bs, progress=False))
    xbs = [xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last) for _,xb in bm.batches(files, bs)]
    def forward():
        with torch.inference_mode():
            for xb in xbs: bm.model(xb)
    fwd = rate(len(files), forward)
    res = dict(images=len(files), photos='shared sample' if src == SHARED else 'toy', arch=arch, size=size, presize=presize,
               bs=bs, threads=torch.get_num_threads(), fastai_img_per_s=round(fa, 2), namethatdog_img_per_s=round(ours, 2),
               forward_img_per_s=round(fwd, 2), ratio=round(ours/fa, 2), share_of_forward=round(ours/fwd, 3))
    print(f"fastai learn.predict loop: {fa:.1f} img/s; namethatdog predict: {ours:.1f} img/s; "
          f"forward pass alone: {fwd:.1f} img/s")
    print(json.dumps(res))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(n=256, arch='resnet18', size=224, presize=460, bs=32).items(): ap.add_argument(f'--{k}', type=type(v), default=v)
    main(**vars(ap.parse_args()))
