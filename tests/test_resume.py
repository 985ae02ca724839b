"Checkpoints and resume: a run killed with SIGKILL resumes to the same weights and validation loss"
import json, os, signal, subprocess, time
import torch
from safetensors.torch import load_file
from conftest import BIN, cli

def train_args(data, out):
    "Two phases (one frozen epoch, two unfrozen), tiny images: three checkpoints"
    return ('train', data, '--no-pretrained', '--arch', 'resnet18', '--freeze-epochs', '1', '--epochs', '2', '--size', '32',
            '--presize', '48', '--bs', '8', '--num-workers', '0', '--lr-find-its', '8', '--seed', '3', '--out', out)

def test_sigkill_after_the_second_checkpoint_resumes_to_the_same_result(toy, tmp_path):
    r = cli(*train_args(toy, tmp_path/'whole'))
    assert r.returncode == 0, r.stderr[-3000:]
    ck = tmp_path/'killed'/'checkpoints'
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONWARNINGS': 'ignore'}
    p = subprocess.Popen([str(BIN/'namethatdog'), *map(str, train_args(toy, tmp_path/'killed'))], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not (ck/'phase1-epoch000.json').exists() and p.poll() is None and time.time() < deadline: time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL, 'the run ended before it could be killed'
    assert not (ck/'phase1-epoch001.json').exists() and not (tmp_path/'killed'/'metrics.json').exists()
    r = cli('train', toy, '--out', tmp_path/'killed', '--resume')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resuming' in r.stdout
    m1 = json.loads((tmp_path/'whole'/'metrics.json').read_text())
    m2 = json.loads((tmp_path/'killed'/'metrics.json').read_text())
    assert m2['resumed'] and abs(m1['valid_loss'] - m2['valid_loss']) < 1e-4
    w1 = load_file(tmp_path/'whole'/'model'/'model.safetensors')
    w2 = load_file(tmp_path/'killed'/'model'/'model.safetensors')
    assert w1.keys() == w2.keys() and max((w1[k].float() - w2[k].float()).abs().max().item() for k in w1) < 1e-4
    # one checkpoint per epoch, named by phase, none overwritten; only the newest two are kept
    assert sorted(o.name for o in ck.glob('phase*.json')) == ['phase1-epoch000.json', 'phase1-epoch001.json']

def test_resume_without_a_run_is_a_clear_error(tmp_path, toy):
    r = cli('train', toy, '--out', tmp_path/'new', '--resume')
    assert r.returncode != 0 and 'no run to resume' in r.stderr and 'Traceback' not in r.stderr
