"""ONNX export and the onnxruntime engine from the command line: a demo model and a model fine-tuned from the shared
weights predict to within 2e-4 with both engines, on the sample photos and on image fixtures of every kind; a damaged
export is refused by its checksum"""
import json, os, shutil
import numpy as np, pytest
from PIL import Image
from conftest import SHARED, HAVE_SHARED, BIG3, cli

@pytest.fixture(scope='module')
def fixtures(tmp_path_factory, toy):
    "Photos of the kinds users send, made with PIL: sideways with EXIF, transparent PNG, WebP, 16-bit greyscale, CMYK"
    d = tmp_path_factory.mktemp('onnx_fixtures')
    src = Image.open(sorted(toy.glob('*.jpg'))[0]).convert('RGB').resize((180, 120))
    exif = Image.Exif(); exif[0x0112] = 6
    src.transpose(Image.Transpose.ROTATE_90).save(d/'sideways.jpg', exif=exif)
    rgba = src.convert('RGBA'); rgba.putalpha(Image.linear_gradient('L').resize(src.size)); rgba.save(d/'alpha.png')
    src.save(d/'photo.webp')
    Image.fromarray((np.asarray(src.convert('L')).astype(np.uint16) * 257)).save(d/'deep.png')
    src.convert('CMYK').save(d/'cmyk.jpg')
    return d

def _predict(model, paths, engine):
    r = cli('predict', model, *paths, '--json', '--top-k', '3', '--engine', engine)
    assert r.returncode == 0, r.stderr[-3000:]
    return {o['path']: {t['label']: t['probability'] for t in o['top']} for o in map(json.loads, r.stdout.splitlines())}

def _both_engines_agree(model, paths):
    r = cli('export', model, '--onnx')
    assert r.returncode == 0 and 'model.onnx' in r.stdout, r.stderr[-3000:]
    meta = json.loads((model/'model.json').read_text())
    assert meta['onnx']['file'] == 'model.onnx' and len(meta['onnx']['sha256']) == 64
    want,got = _predict(model, paths, 'torch'),_predict(model, paths, 'onnx')
    assert list(got) == list(want) and len(got) == len(paths)
    diff = max(abs(p - want[f].get(l, -1)) for f,top in got.items() for l,p in top.items())
    assert diff <= 2e-4, diff
    return diff

def test_demo_model_both_engines(demo_run, fixtures, tmp_path):
    out,p,_ = demo_run
    assert p.returncode == 0, p.stderr[-3000:]
    model = shutil.copytree(out/'model', tmp_path/'model')
    _both_engines_agree(model, sorted((out/'toy_pets').glob('*.jpg'))[::7] + sorted(fixtures.iterdir()))

@pytest.mark.skipif(not HAVE_SHARED, reason='../shared photos or weights not present')
def test_fine_tuned_model_both_engines(big3_model, fixtures, tmp_path):
    model = shutil.copytree(big3_model, tmp_path/'model')
    photos = list(dict.fromkeys([f for b in BIG3 for f in sorted(SHARED.glob(f'{b}_*.jpg'))[:30]] + sorted(SHARED.glob('*_1.jpg'))))  # and one of every breed
    _both_engines_agree(model, photos + sorted(fixtures.iterdir()))

def test_damaged_export_is_refused(demo_run, tmp_path):
    out,_,_ = demo_run
    model = shutil.copytree(out/'model', tmp_path/'model')
    assert cli('export', model, '--onnx').returncode == 0
    f = model/'model.onnx'
    data = bytearray(f.read_bytes()); data[len(data)//3] ^= 0x01; f.write_bytes(bytes(data))
    r = cli('predict', model, sorted((out/'toy_pets').glob('*.jpg'))[0], '--engine', 'onnx')
    assert r.returncode != 0 and 'checksum mismatch, the ONNX file is damaged' in r.stderr and 'Traceback' not in r.stderr
    r = cli('predict', model, sorted((out/'toy_pets').glob('*.jpg'))[0])  # the default engine refuses it too
    assert r.returncode != 0 and 'checksum mismatch' in r.stderr

def test_export_needs_a_format(demo_run):
    r = cli('export', demo_run[0]/'model')
    assert r.returncode != 0 and 'export: say what to export: --onnx' in r.stderr

def test_train_writes_the_export(toy, tmp_path):
    r = cli('train', toy, '--no-pretrained', '--arch', 'resnet18', '--size', '64', '--presize', '96', '--epochs', '1',
            '--bs', '16', '--lr-find-its', '0', '--onnx', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'o'/'model'/'model.onnx').exists() and json.loads((tmp_path/'o'/'metrics.json').read_text())['onnx']
    f = sorted(toy.glob('*.jpg'))[0]
    assert _predict(tmp_path/'o'/'model', [f], 'onnx').keys() == _predict(tmp_path/'o'/'model', [f], 'torch').keys()
