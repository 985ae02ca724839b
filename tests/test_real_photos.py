"The pipeline on real Oxford-IIIT Pet photos from ../shared (skipped when that folder is absent)"
import json
import pytest
from conftest import SHARED, cli

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f'{SHARED} not present')
BIG3 = ('Abyssinian', 'Bengal', 'american_bulldog')

def test_labels_of_the_real_sample():
    from namethatdog.data import pet_files, label_files, is_cat
    labels = label_files(pet_files(SHARED))
    assert len(set(labels)) == 37 and sum(map(is_cat, set(labels))) == 12

def test_train_and_interpret_on_real_photos(tmp_path):
    r = cli('train', SHARED, '--no-pretrained', '--arch', 'resnet18', '--size', '64', '--presize', '128', '--epochs', '1',
            '--bs', '32', '--lr-find-its', '10', '--breeds', 'Abyssinian,Bengal', 'american_bulldog', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path/'o'/'metrics.json').read_text())
    assert m['vocab'] == sorted(BIG3) and m['n_valid'] > 50 and m['lr_find_its'] == 10
    assert json.loads((tmp_path/'o'/'model'/'model.json').read_text())['breeds'] == sorted(BIG3)
    # The model remembers its breeds, so interpreting it on the whole sample uses the same photos
    r = cli('interpret', tmp_path/'o'/'model', SHARED, '--out', tmp_path/'i', '--top-losses', '4')
    assert r.returncode == 0, r.stderr[-3000:]
    mi = json.loads((tmp_path/'i'/'metrics.json').read_text())
    assert mi['n_valid'] == m['n_valid'] and abs(mi['valid_loss'] - m['valid_loss']) < 1e-3

def test_train_unknown_breed_is_a_clear_error(tmp_path):
    r = cli('train', SHARED, '--no-pretrained', '--breeds', 'Abyssinian', 'dalmatian', '--out', tmp_path/'o')
    assert r.returncode != 0 and 'dalmatian' in r.stderr and 'Traceback' not in r.stderr

def test_doctor_passes_the_real_sample():
    r = cli('doctor', SHARED, '--json')
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(r.stdout)
    assert rep['ok'] and rep['n_good'] == 619 and len(rep['breeds']) == 37
