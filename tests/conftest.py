import os, sys, subprocess, warnings
from pathlib import Path
import pytest

warnings.filterwarnings('ignore', category=FutureWarning)
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent/'shared'/'data'/'oxford-pets-sample'/'images'
WEIGHTS = ROOT.parent/'shared'/'weights'/'efficientnet_lite0'/'tf_efficientnet_lite0.in1k.timm.pth'
BIG3 = ('Abyssinian', 'Bengal', 'american_bulldog')
HAVE_SHARED = SHARED.is_dir() and WEIGHTS.exists()
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

@pytest.fixture(scope='session')
def big3_run(tmp_path_factory):
    "Issue 12's done-when run, once: `namethatdog train` on three big breeds from the shared weights: (out dir, process)"
    if not HAVE_SHARED: pytest.skip('../shared photos or weights not present')
    out = tmp_path_factory.mktemp('big3')/'o'
    return out, cli('train', SHARED, '--breeds', *BIG3, '--arch', 'tf_efficientnet_lite0', '--weights', WEIGHTS, '--out', out)

@pytest.fixture(scope='session')
def big3_model(big3_run):
    "The model directory of `big3_run`: tf_efficientnet_lite0 fine-tuned on Abyssinian, Bengal and american_bulldog"
    out,r = big3_run
    assert r.returncode == 0, r.stderr[-3000:]
    return out/'model'

@pytest.fixture(scope='session')
def toy_model(small_learner, tmp_path_factory):
    "`small_learner` saved as a model directory"
    from namethatdog.modelfile import save_model_dir
    from namethatdog.settings import PETS_PAT
    return save_model_dir(small_learner, tmp_path_factory.mktemp('toy_model')/'model', pat=PETS_PAT)
