import os, sys, subprocess, warnings
from pathlib import Path
import pytest

warnings.filterwarnings('ignore', category=FutureWarning)
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent/'shared'/'data'/'oxford-pets-sample'/'images'
BIN = Path(sys.executable).parent

def cli(*args, timeout=600, **kw):
    "Run the `namethatdog` command; returns the CompletedProcess"
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONWARNINGS': 'ignore'}
    return subprocess.run([str(BIN/'namethatdog'), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env, **kw)

@pytest.fixture(scope='session')
def toy(tmp_path_factory):
    "A small toy pets folder (20 per breed)"
    from namethatdog.data import toy_pets
    return toy_pets(tmp_path_factory.mktemp('toy')/'images', n=20)

@pytest.fixture(scope='session')
def small_learner(toy):
    "A resnet18 trained 3 epochs from scratch on `toy` at 64 px"
    from namethatdog.data import pets_dls
    from namethatdog.learner import breed_learner, fit_breeds
    learn = breed_learner(pets_dls(toy, bs=16, presize=96, size=64, num_workers=0), 'resnet18', pretrained=False)
    with learn.no_bar(), learn.no_logging(): fit_breeds(learn, 3)
    return learn

@pytest.fixture(scope='session')
def demo_run(tmp_path_factory):
    "`namethatdog demo` run once, as a user would: (out dir, process, seconds)"
    import time
    out = tmp_path_factory.mktemp('demo')/'out'
    t = time.time()
    p = cli('demo', '--out', out)
    return out, p, time.time()-t
