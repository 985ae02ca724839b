"""Data pipeline speed: one full pass over the training DataLoader (items and batch transforms) with the book's
presizing (`Resize(460)` on every item, every epoch; `aug_transforms` resampling twice) and with namethatdog's
(presize cache and one-resample augmentation; first epoch, which builds the cache, and later epochs), in one process. The last line printed is a JSON object; ratio = later / book.

    python bench/pipeline.py [--size 224] [--presize 460] [--bs 64] [--num-workers 0] [--n 0]

Photos: the real Oxford-IIIT Pet sample in ../shared when present, else generated photos of about 500×375."""
import argparse, json, warnings
warnings.filterwarnings('ignore')
import torch
from common import photos, seconds, scratch
from namethatdog.data import pets_dls

def one_pass(dl):
    "Number of images in one pass over `dl`"
    return sum(len(x) for x,_ in dl)

def main(size=224, presize=460, bs=64, num_workers=0, n=0):
    files,src = photos(scratch(), n or None)
    kw = dict(bs=bs, presize=presize, size=size, num_workers=num_workers, valid_pct=0.2)
    mk = lambda cache: pets_dls(files, cache=cache, fast_aug=bool(cache), **kw)
    t_book,k = seconds(lambda: one_pass(mk(False).train))
    if not k: raise SystemExit(f"{len(files)} photos give no full training batch of {bs}: use more photos (--n) or a smaller --bs")
    t_first,(k1,dls) = seconds(lambda: (lambda d: (one_pass(d.train), d))(mk('memory')))
    t_later = min(seconds(lambda: one_pass(dls.train))[0] for _ in range(2))
    book,first,later = k/t_book, k1/t_first, k/t_later
    res = dict(images=k, photos=src, size=size, presize=presize, bs=bs, num_workers=num_workers, threads=torch.get_num_threads(),
               book_img_per_s=round(book, 1), first_epoch_img_per_s=round(first, 1), later_epochs_img_per_s=round(later, 1),
               ratio=round(later/book, 2), first_epoch_ratio=round(first/book, 2))
    print(f"book pipeline: {book:.1f} img/s; namethatdog first epoch (builds the cache): {first:.1f} img/s; later epochs: {later:.1f} img/s")
    print(json.dumps(res))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k,v in dict(size=224, presize=460, bs=64, num_workers=0, n=0).items(): ap.add_argument(f'--{k.replace("_","-")}', type=type(v), default=v)
    main(**vars(ap.parse_args()))
