"Defaults that fit the device, checked with a faked GPU; the GPU check script skips cleanly without one"
import json, subprocess, sys
from unittest.mock import patch
import pytest
from conftest import ROOT

def test_gpu_check_skips_cleanly_without_cuda():
    import torch
    if torch.cuda.is_available(): pytest.skip('a GPU is here: run `python bench/gpu_check.py` itself')
    r = subprocess.run([sys.executable, 'gpu_check.py'], cwd=ROOT/'bench', capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'no CUDA GPU' in json.loads(r.stdout.strip().splitlines()[-1])['skipped']

@pytest.mark.parametrize('cuda,recipe,size,epochs', [(True, 'discriminative', 224, (3, 12)), (False, 'probe', 224, (0, 0))])
def test_train_defaults_fit_the_device(cuda, recipe, size, epochs):
    from namethatdog.settings import TrainSettings
    from namethatdog.learner import default_size, default_epochs
    with patch('torch.cuda.is_available', lambda: cuda):
        s = TrainSettings()
        assert (s.recipe, default_size(s.pretrained, s.recipe), default_epochs(s.pretrained, s.recipe)) == (recipe, size, epochs)
        assert default_size(True, 'discriminative') == (224 if cuda else 128)  # the book's recipes on a CPU: 128 px
