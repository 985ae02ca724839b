"Offline errors, reproducibility, safe model files, order-independent splits"
import json, os, pickle
from pathlib import Path
from unittest.mock import patch
from urllib.error import URLError
import pytest, torch
from namethatdog.data import pets_dls, hash_splitter, label_files, LabelError, pets_images, DatasetUnavailableError
from namethatdog.learner import breed_learner, fit_breeds, WeightsUnavailableError
from namethatdog.modelfile import save_model_dir, BreedModel, ModelFileError
import namethatdog.predict  # adds BreedModel.predict

def _offline(*a, **k): raise URLError('[Errno -2] Name or service not known')

def test_offline_pretrained_torchvision_says_where(toy, tmp_path):
    dls = pets_dls(toy, bs=16, presize=96, size=64, num_workers=0)
    with patch('torch.hub.load_state_dict_from_url', _offline), patch('torch.hub.get_dir', return_value=str(tmp_path)):
        with pytest.raises(WeightsUnavailableError, match='resnet34-.*pth') as e: breed_learner(dls, 'resnet34')
    assert str(tmp_path/'checkpoints') in str(e.value)

def test_offline_pretrained_timm_says_where(toy, tmp_path):
    dls = pets_dls(toy, bs=16, presize=96, size=64, num_workers=0)
    def no_hub(*a, **k): raise OSError('cannot reach the Hugging Face hub')
    with patch('timm.models._builder.load_pretrained', no_hub), patch('torch.hub.get_dir', return_value=str(tmp_path)):
        with pytest.raises(WeightsUnavailableError) as e: breed_learner(dls, 'resnet18d')
    assert str(tmp_path/'checkpoints'/'resnet18d.safetensors') in str(e.value)

def test_timm_from_scratch(toy):
    learn = breed_learner(pets_dls(toy, bs=16, presize=96, size=64, num_workers=0), 'resnet18d', pretrained=False)
    assert learn.model(torch.zeros(2, 3, 64, 64)).shape == (2, 6)

def test_offline_dataset_error():
    with patch('namethatdog.data.untar_data', side_effect=URLError('offline')):
        with pytest.raises(DatasetUnavailableError, match='oxford-iiit-pet'): pets_images()

def test_same_seed_same_numbers(toy):
    def run(seed):
        learn = breed_learner(pets_dls(toy, bs=16, presize=96, size=64, seed=seed), 'resnet18', pretrained=False)
        with learn.no_bar(), learn.no_logging(): fit_breeds(learn, 1)
        return learn.recorder.values[-1]
    assert run(3) == run(3)

def test_split_ignores_listing_order():
    files = [f'/x/{b}_{i}.jpg' for b in ('pug', 'Bengal', 'beagle') for i in range(100)]
    s = hash_splitter(0.2, seed=7)
    valid = lambda fs: {fs[i] for i in s(fs)[1]}
    assert valid(files) == valid(sorted(files, reverse=True)) == valid(files[1::2] + files[::2])
    assert valid(files) <= valid(files + ['/x/pug_1000.jpg'])

def test_every_bad_name_listed_under_O():
    with pytest.raises(LabelError) as e: label_files(['a/IMG.jpg', 'a/pug_1.jpg', 'a/DSC.png'])
    assert 'a/IMG.jpg' in str(e.value) and 'a/DSC.png' in str(e.value)

def test_planted_pickle_is_never_run(small_learner, tmp_path):
    d = save_model_dir(small_learner, tmp_path/'m')
    marker = tmp_path/'pwned'
    class Evil:
        def __reduce__(self): return (os.system, (f'touch {marker}',))
    for n in ('export.pkl', 'model.pth'): (d/n).write_bytes(pickle.dumps(Evil()))
    bm = BreedModel.load(d)
    bm.predict(small_learner.dls.valid.items[:2])
    assert not marker.exists()

def test_damaged_model_files(small_learner, tmp_path):
    d = save_model_dir(small_learner, tmp_path/'m')
    meta = json.loads((d/'model.json').read_text())
    (d/'model.safetensors').write_bytes(b'x' + (d/'model.safetensors').read_bytes()[1:])
    with pytest.raises(ModelFileError, match='checksum'): BreedModel.load(d)
    (d/'model.safetensors').unlink()
    with pytest.raises(ModelFileError, match='missing'): BreedModel.load(d)
    (d/'model.json').write_text(json.dumps({**meta, 'format': 'pickle'}))
    with pytest.raises(ModelFileError, match='unknown format'): BreedModel.load(d)

def test_reload_matches_learn_predict(small_learner, tmp_path):
    bm = BreedModel.load(save_model_dir(small_learner, tmp_path/'m'))
    files = small_learner.dls.valid.items[:5]
    for f, r in zip(files, bm.predict(files, top_k=6)):
        _, _, p = small_learner.predict(f)
        got = {o['label']: o['probability'] for o in r['top']}
        assert torch.allclose(torch.tensor([got[v] for v in small_learner.dls.vocab]), p, atol=1e-5)

def test_precision_choice():
    from namethatdog.learner import auto_precision
    with patch('torch.cuda.is_available', return_value=False): assert auto_precision() == 'fp32'
    with patch('torch.cuda.is_available', return_value=True), patch('torch.cuda.is_bf16_supported', return_value=True):
        assert auto_precision() == 'bf16'

WRITE_WITH_A_FILE_SIZE_LIMIT = '''
import resource, signal, sys
from namethatdog.data import pets_dls
from namethatdog.learner import breed_learner
from namethatdog.modelfile import save_model_dir
learn = breed_learner(pets_dls(sys.argv[1], bs=16, presize=96, size=64, num_workers=0), 'resnet18', pretrained=False)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))
save_model_dir(learn, sys.argv[2])
'''

def test_a_write_that_fails_part_way_leaves_the_previous_model(small_learner, toy, tmp_path):
    import subprocess, sys
    d = save_model_dir(small_learner, tmp_path/'m')
    files = small_learner.dls.valid.items[:3]
    before = BreedModel.load(d).predict(files)
    r = subprocess.run([sys.executable, '-c', WRITE_WITH_A_FILE_SIZE_LIMIT, str(toy), str(d)], capture_output=True, text=True)
    assert r.returncode != 0 and 'File too large' in r.stderr, r.stderr[-2000:]
    assert sorted(o.name for o in d.iterdir()) == ['model.json', 'model.safetensors']  # no partial or temporary file
    assert BreedModel.load(d).predict(files) == before

def test_fastai_export_is_only_unpickled_behind_the_opt_in(tmp_path):
    from namethatdog.modelfile import unsafe_import_fastai_export
    marker = tmp_path/'pwned'
    class Evil:
        def __reduce__(self): return (os.system, (f'touch {marker}',))
    (tmp_path/'export.pkl').write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ValueError, match='refusing to unpickle'):
        unsafe_import_fastai_export(tmp_path/'export.pkl', tmp_path/'m', 'resnet18')
    assert not marker.exists() and not (tmp_path/'m').exists()

def test_planted_weights_pickle_is_refused_and_never_run(tmp_path):
    "A weights file whose unpickling would run code: `read_weights` refuses it, and the code never runs"
    import torch
    from namethatdog.learner import read_weights, WeightsFileError
    marker = tmp_path/'pwned'
    class Planted:
        def __reduce__(self): return (os.system, (f'touch {marker}',))
    torch.save({'a.weight': Planted()}, tmp_path/'evil.pth')
    with pytest.raises(WeightsFileError, match='refused'): read_weights(tmp_path/'evil.pth')
    assert not marker.exists()
