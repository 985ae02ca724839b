"`namethatdog predict --out`: results streamed to a file, a killed run resumed without doing an image twice, shards"
import csv, json, os, shutil, signal, subprocess, time
from pathlib import Path
import pytest
from conftest import cli, BIN

@pytest.fixture(scope='module')
def many(demo_run, tmp_path_factory):
    "2,160 photos: the demo's toy pets, six times under other names"
    out,_,_ = demo_run
    d = tmp_path_factory.mktemp('many')
    for j in range(6):
        for f in (out/'toy_pets').iterdir(): shutil.copy(f, d/f'{j}_{f.name}')
    return d

def _rows(f:Path)->list:
    if f.suffix == '.csv': return [dict(path=r[0]) for r in list(csv.reader(f.read_text().splitlines()))[1:]]
    return [json.loads(l) for l in f.read_text().splitlines()]

def test_killed_then_resumed(demo_run, many, tmp_path):
    out,_,_ = demo_run
    res = tmp_path/'preds.jsonl'
    p = subprocess.Popen([str(BIN/'namethatdog'), 'predict', str(out/'model'), str(many), '--out', str(res), '--bs', '8'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    t = time.time()
    while not (res.exists() and res.read_text().count('\n') >= 64):  # results arrive while the run goes on
        assert p.poll() is None and time.time()-t < 300, p.communicate()[1][-2000:]
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    first = res.read_text().count('\n')
    assert 64 <= first < 2160
    r = cli('predict', out/'model', many, '--out', res, '--resume', '--bs', '8')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'skipped' in r.stderr
    paths = [o['path'] for o in _rows(res)]
    assert len(paths) == len(set(paths)) == 2160  # none twice, none left out
    assert all(o['top'][0]['probability'] > 0 for o in _rows(res))

def test_shards_cover_every_image_once(demo_run, many, tmp_path):
    out,_,_ = demo_run
    outs = [tmp_path/'s0.jsonl', tmp_path/'s1.csv', tmp_path/'s2.jsonl']
    for i,o in enumerate(outs):
        r = cli('predict', out/'model', many, '--out', o, '--shard', f'{i}/3')
        assert r.returncode == 0, r.stderr[-2000:]
        assert 'images/s' in r.stderr and '\r' not in r.stderr  # the summary line; no bar frames in a log
    shards = [{o['path'] for o in _rows(f)} for f in outs]
    assert sum(map(len, shards)) == len(set.union(*shards)) == 2160
    assert all(600 < len(s) < 840 for s in shards), [len(s) for s in shards]
    r = cli('predict', out/'model', many, '--resume')
    assert r.returncode == 1 and 'resume needs an output file (--out)' in r.stderr
    r = cli('predict', out/'model', many, '--shard', '3/3', '--out', tmp_path/'x.jsonl')
    assert r.returncode == 1 and 'I must be from 0 to N-1' in r.stderr
