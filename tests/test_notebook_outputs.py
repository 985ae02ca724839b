"Committed notebook outputs are the docs: nothing in them may depend on the machine that ran them"
import json, re
import pytest
from conftest import ROOT

NBS = sorted((ROOT/'nbs').rglob('*.ipynb'))
MACHINE = re.compile(r"(/tmp/|/var/folders/|\btmp[a-z0-9_]{8}\b|namethatdog-tests\.|site-packages|/home/\w|/root/|/Users/\w|/work/|"
                     r"\.venv/|[A-Z]:\\\\Users)")
FRAME = re.compile(r'\d\d:\d\d<(\d\d:\d\d|\?)')  # a console progress bar's "elapsed<remaining"

def output_texts(nb):
    "(cell id, text) of every output of the notebook `nb`"
    for c in json.loads(nb.read_text())['cells']:
        for o in c.get('outputs', []):
            parts = [o.get('text', '')] + [v for k,v in o.get('data', {}).items() if k.startswith('text/')] + o.get('traceback', [])
            for p in parts: yield c.get('id'), ''.join(p) if isinstance(p, list) else p

def test_the_check_catches_what_it_should():
    for s in ('/tmp/tmpab12cd_9/toy/pug_1.jpg', "Path('/tmp/w/x')", '/work/venv/lib/python3.11/site-packages/torch/jit/_script.py'):
        assert MACHINE.search(s), s
    assert FRAME.search(' |████----| 40.00% [2/5 00:05<00:08]') and not FRAME.search('0   1.21  0.30  0.107  00:19')
    for s in ('toy/pug_1.jpg', 'model.safetensors', '../shared/data/oxford-pets-sample/images/Bengal_12.jpg'): assert not MACHINE.search(s), s

@pytest.mark.parametrize('nb', NBS, ids=lambda p: p.name)
def test_outputs_have_no_machine_paths_or_progress_frames(nb):
    bad = [(cid, m.group(0), t[max(0, m.start()-60):m.end()+40]) for cid,t in output_texts(nb) for rx in (MACHINE, FRAME) for m in [rx.search(t)] if m]
    assert not bad, f"{nb.name}: outputs hold machine-specific text or progress-bar frames (re-run and clean): {bad[:3]}"
