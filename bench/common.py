"""What the benchmarks share: the photos they run on, and a timer."""
import atexit, shutil, tempfile, time
from pathlib import Path
import numpy as np
from namethatdog.data import TOY_BREEDS, draw_toy_pet, pet_files, select_breeds

SHARED = Path(__file__).resolve().parent.parent.parent/'shared'/'data'/'oxford-pets-sample'/'images'

def scratch():
    "A temporary folder, removed when the benchmark exits (models and caches are large)"
    d = tempfile.mkdtemp(prefix='namethatdog-bench-'); atexit.register(shutil.rmtree, d, ignore_errors=True)
    return Path(d)

def photos(tmp, n=None, breeds=None, seed=0):
    "(files, where from): the real ../shared sample when present, else generated pets of realistic size (about 500×375)"
    if SHARED.is_dir(): return list(select_breeds(pet_files(SHARED), breeds))[:n], 'shared sample'
    rng,dest,bs = np.random.default_rng(seed),Path(tmp)/'generated',breeds or list(TOY_BREEDS)[:3]
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n or 450):
        w,h = (500,375) if rng.random() < 0.7 else (375,500)
        b = bs[i % len(bs)]
        look = b if b in TOY_BREEDS else list(TOY_BREEDS)[bs.index(b) % len(TOY_BREEDS)]  # a breed name always gets the same look
        draw_toy_pet(look, rng, w, h).save(dest/f'{b}_{i}.jpg', quality=90)
    return list(pet_files(dest)), 'generated'

def seconds(f):
    "Wall seconds of `f()`, and its result"
    t = time.perf_counter(); r = f(); return time.perf_counter()-t, r
