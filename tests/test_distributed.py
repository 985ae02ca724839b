"Training in two CPU processes (gloo) with `namethatdog train --distributed`: one model directory, whole-set metrics, a killed or stalled process"
import json, os, signal, subprocess, time
from pathlib import Path
import pytest
from conftest import cli, BIN

TRAIN = ['--no-pretrained', '--arch', 'resnet18', '--size', '64', '--presize', '96', '--bs', '32', '--num-workers', '0', '--lr', '1e-2']
WRITTEN = {'checkpoints', 'classification_report.csv', 'confusion_matrix.csv', 'confusion_matrix.png', 'metrics.json', 'model',
           'top_losses.csv', 'top_losses.png'}

@pytest.fixture(scope='module')
def two_procs(toy, tmp_path_factory):
    "`namethatdog train --distributed --nproc 2` on the toy pets: (out dir, process)"
    out = tmp_path_factory.mktemp('dist')/'o'
    return out, cli('train', toy, '--out', out, *TRAIN, '--epochs', '20', '--distributed', '--nproc', '2')

def test_two_processes_one_model(two_procs, toy, tmp_path):
    out, r = two_procs
    assert r.returncode == 0, r.stderr[-3000:]
    assert '(2 processes)' in r.stdout and r.stdout.count('namethatdog train: error_rate') == 1  # only rank 0 reports
    assert {o.name for o in out.iterdir()} == WRITTEN  # one set of files, no temporaries left by a second writer
    assert not list(out.rglob('.*.tmp'))
    m = json.loads((out/'metrics.json').read_text())
    assert (m['processes'], m['bs']) == (2, 32)
    p = cli('predict', out/'model', toy, '--json')
    assert p.returncode == 0 and len(p.stdout.splitlines()) == len(list(toy.iterdir()))

def test_metrics_on_the_whole_validation_set(two_procs, toy, tmp_path):
    "The metrics are those of every validation image: the split's count, and equal to a fresh one-process interpretation"
    from namethatdog.data import hash_splitter, pet_files, pet_label
    out, r = two_procs
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    _,valid = hash_splitter(0.2, 42, label_func=pet_label)(list(pet_files(toy)))
    assert m['n_valid'] == len(valid) == 28
    assert m['last_epoch']['error_rate'] == pytest.approx(m['error_rate'], abs=1e-6)  # gathered from both ranks during training
    # the final loss is calibrated: the temperature fitted on the validation set can only lower that set's loss
    assert m['valid_loss'] <= m['last_epoch']['valid_loss'] * (1 + 1e-4)
    i = cli('interpret', out/'model', toy, '--out', tmp_path/'i')
    assert i.returncode == 0, i.stderr[-2000:]
    mi = json.loads((tmp_path/'i'/'metrics.json').read_text())
    assert (mi['n_valid'], mi['error_rate']) == (28, pytest.approx(m['error_rate'], abs=1e-6))
    assert m['error_rate'] < 0.4, m['error_rate']  # it learned (0.11 when written): six breeds, chance is 0.83

def _ppid(pid:int)->int: return int(Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[1])

def _descends(pid:int, root:int)->bool:
    "True if `pid` is `root` or one of its descendants (torchrun starts its workers in sessions of their own)"
    while pid > 1:
        if pid == root: return True
        pid = _ppid(pid)
    return False

def _rank_pid(root:int, rank:int, timeout=120)->int:
    "The pid of the torchrun worker of `rank` among the descendants of `root`"
    t = time.time()
    while time.time()-t < timeout:
        for d in Path('/proc').iterdir():
            if not d.name.isdigit(): continue
            try:
                env = (d/'environ').read_bytes().split(b'\0')
                if f'RANK={rank}'.encode() in env and any(e.startswith(b'TORCHELASTIC_RUN_ID=') for e in env) and _descends(int(d.name), root):
                    return int(d.name)
            except (OSError, ValueError, IndexError): continue
        time.sleep(0.2)
    raise TimeoutError(f'no rank {rank} under process {root}')

def _start_and_hit(toy, out, sig, *extra):
    "Start a 2-process run, send `sig` to rank 1 after the first checkpoint; (returncode, stderr, seconds from the signal to the end)"
    p = subprocess.Popen([str(BIN/'namethatdog'), 'train', str(toy), '--out', str(out), *TRAIN, '--epochs', '12', '--distributed',
                          '--nproc', '2', *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         env={**os.environ, 'PYTHONWARNINGS': 'ignore', 'MPLBACKEND': 'Agg'})
    try:
        t = time.time()
        while not (out/'checkpoints'/'phase0-epoch000.json').exists():
            assert p.poll() is None and time.time()-t < 300, p.communicate()[1][-3000:]
            time.sleep(0.2)
        os.kill(_rank_pid(p.pid, 1), sig)
        t = time.time()
        _,err = p.communicate(timeout=240)  # a hang would end here, failing the test
        return p.returncode, err, time.time()-t
    finally:  # whatever happened, nothing of the run is left behind (the workers have sessions of their own)
        for d in Path('/proc').iterdir():
            try:
                if d.name.isdigit() and int(d.name) != p.pid and _descends(int(d.name), p.pid): os.kill(int(d.name), signal.SIGKILL)
            except (OSError, ValueError, IndexError): pass
        if p.poll() is None: p.kill()

def test_killed_rank_clear_error_then_resume(toy, tmp_path):
    out = tmp_path/'o'
    rc, err, s = _start_and_hit(toy, out, signal.SIGKILL)
    assert rc != 0 and s < 60, (rc, s)
    assert 'Signal 9 (SIGKILL)' in err and 'rank      : 1' in err  # torchrun's report names the process and the signal
    assert 'add --resume to continue' in err.splitlines()[-1]
    assert not (out/'model').exists() and not (out/'metrics.json').exists()
    r = cli('train', toy, '--out', out, '--resume', '--distributed', '--nproc', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['resumed'] and (m['processes'], m['epochs'], m['n_valid']) == (2, 12, 28)
    assert cli('predict', out/'model', toy/'pug_1.jpg').returncode == 0

def test_stalled_rank_times_out(toy, tmp_path):
    "A process that stops answering (SIGSTOP) ends the run at the process group's timeout, with a clear error, not a hang"
    rc, err, s = _start_and_hit(toy, tmp_path/'o', signal.SIGSTOP, '--timeout', '10')
    assert rc != 0 and s < 100, (rc, s)  # 10 s of timeout, then up to 30 s for torchrun to stop the frozen process
    assert 'lost contact with the others of the run (one died or stopped answering for 10 s)' in err
    assert 'add --resume to continue' in err.splitlines()[-1]

def test_data_doctor_runs_once(toy, tmp_path):
    "A bad photo stops a 2-process run before training: rank 0 lists it once, the other process says why it stops"
    import shutil
    d = tmp_path/'images'; shutil.copytree(toy, d)
    (d/'pug_999.jpg').write_text('<html>not a photo</html>')
    r = cli('train', d, '--out', tmp_path/'o', *TRAIN, '--distributed', '--nproc', '2', timeout=300)
    assert r.returncode != 0
    assert r.stderr.count('pug_999.jpg') >= 1 and r.stderr.count('Fix or remove these files') == 1, r.stderr[-3000:]
    assert 'process 1: stopped, as rank 0 failed' in r.stderr
    assert not (tmp_path/'o'/'model').exists()
