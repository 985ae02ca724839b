"A run whose output is not a terminal (CI, `> log`, `nohup`) writes the epoch table, one line per epoch, and no progress-bar frames"
from conftest import cli

def test_train_log_has_no_bar_frames(toy, tmp_path):
    r = cli('train', toy, '--arch', 'resnet18', '--no-pretrained', '--size', '64', '--epochs', '2', '--bs', '16', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert '\r' not in log and '█' not in log and '|---' not in log, log[:2000]
    lines = log.splitlines()
    head = [i for i,l in enumerate(lines) if l.split()[:3] == ['epoch', 'train_loss', 'valid_loss']]
    assert len(head) == 1, log
    assert [l.split()[0] for l in lines[head[0]+1:head[0]+3]] == ['0', '1'], log
