"The pipeline on real Oxford-IIIT Pet photos from ../shared (skipped when that folder is absent)"
import json
import pytest
from conftest import SHARED, cli

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f'{SHARED} not present')
BIG3 = ('Abyssinian', 'Bengal', 'american_bulldog')

@pytest.fixture(scope='module')
def big3(tmp_path_factory):
    "Symlinks to the three large breeds of the sample (the photos are never copied)"
    d = tmp_path_factory.mktemp('big3')
    for f in SHARED.glob('*.jpg'):
        if f.name.rsplit('_', 1)[0] in BIG3: (d/f.name).symlink_to(f)
    return d

def test_labels_of_the_real_sample():
    from namethatdog.data import pet_files, label_files, is_cat
    labels = label_files(pet_files(SHARED))
    assert len(set(labels)) == 37 and sum(map(is_cat, set(labels))) == 12

def test_train_on_real_photos(big3, tmp_path):
    r = cli('train', big3, '--no-pretrained', '--arch', 'resnet18', '--size', '64', '--presize', '128', '--epochs', '1',
            '--bs', '32', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path/'o'/'metrics.json').read_text())
    assert m['vocab'] == sorted(BIG3) and m['n_valid'] > 50
