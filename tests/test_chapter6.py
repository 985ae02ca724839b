"Chapter 6 on bad input: tables with missing or broken images, empty cells, missing columns; losses at extreme logits"
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F
from namethatdog.doctor import DataProblemsError
from namethatdog.multilabel import toy_multilabel, multilabel_dls
from namethatdog.regression import toy_markers, point_dls
from namethatdog import losses
from namethatdog.data import toy_pets, pet_files
from namethatdog.features import linear_probe, embeddings

@pytest.fixture(scope='module')
def shapes(tmp_path_factory): return toy_multilabel(tmp_path_factory.mktemp('shapes'), n=40)

def test_multilabel_table_problems_are_named(shapes):
    df = pd.read_csv(shapes/'train.csv')
    (shapes/'train'/'broken.jpg').write_bytes((shapes/'train'/df.fname[0]).read_bytes()[:200])
    bad = pd.concat([df, pd.DataFrame([dict(fname='broken.jpg', labels='circle', is_valid=False),
                                       dict(fname='missing.jpg', labels='square', is_valid=True)])], ignore_index=True)
    with pytest.raises(DataProblemsError) as e: multilabel_dls(bad, shapes/'train', num_workers=0)
    assert 'broken.jpg: damaged or truncated' in str(e.value) and 'missing.jpg: no such file' in str(e.value)
    dls = multilabel_dls(bad, shapes/'train', bs=8, size=32, num_workers=0, skip_bad=True)
    assert len(dls.train_ds) + len(dls.valid_ds) == len(df)
    with pytest.raises(DataProblemsError, match='no column'): multilabel_dls(df.drop(columns='is_valid'), shapes/'train')

def test_multilabel_csv_with_empty_labels(shapes, tmp_path):
    df = pd.read_csv(shapes/'train.csv')
    df.loc[0, 'labels'] = ''
    df.to_csv(tmp_path/'t.csv', index=False)
    dls = multilabel_dls(tmp_path/'t.csv', shapes/'train', bs=8, size=32, num_workers=0)
    assert 'nan' not in list(dls.vocab) and '' not in list(dls.vocab)
    xb, yb = dls.valid.one_batch() if df.is_valid[0] else dls.train.one_batch()
    assert yb.shape[1] == len(dls.vocab) == 4

def test_points_without_coordinates(tmp_path):
    path = toy_markers(tmp_path/'m', n=20)
    df = pd.read_csv(path/'points.csv')
    df.loc[3, 'y'] = np.nan
    with pytest.raises(DataProblemsError, match=f"{df.fname[3]}: no value in column"): point_dls(df, path/'images', num_workers=0)

@pytest.mark.parametrize('scale', [1, 30, 100])
def test_losses_at_extreme_logits(scale):
    g = torch.Generator().manual_seed(scale)
    x = torch.randn(16, 5, generator=g).sign() * scale + torch.randn(16, 5, generator=g)
    t = torch.randint(0, 5, (16,), generator=g)
    y = (torch.rand(16, 5, generator=g) > 0.5).float()
    assert torch.allclose(losses.cross_entropy(x, t), F.cross_entropy(x, t), atol=1e-4, rtol=1e-5)
    assert torch.allclose(losses.binary_cross_entropy(x, y), F.binary_cross_entropy_with_logits(x, y), atol=1e-4, rtol=1e-5)
    assert torch.allclose(losses.log_softmax(x), F.log_softmax(x, -1), atol=1e-4, rtol=1e-5)
    p = F.softmax(torch.randn(16, 5, generator=g), -1)
    assert torch.allclose(losses.kl_div(F.log_softmax(x, -1), p), F.kl_div(F.log_softmax(x, -1), p, reduction='batchmean'), atol=1e-4, rtol=1e-5)

def test_linear_probe_from_the_library(tmp_path):
    files = pet_files(toy_pets(tmp_path/'toy', n=8, breeds=['pug', 'Bengal']))
    assert embeddings(files[:3], pretrained=False, size=32).shape == (3, 512)
    r = linear_probe(files, pretrained=False, size=32)
    assert r['n_train'] + r['n_valid'] == 16 and 0 <= r['error_rate'] <= 1 and r['seconds'] > 0
