"The README's quick start is two commands, and CI runs the second one"
import re
from conftest import ROOT

def _commands():
    block = re.search(r'## Quick start.*?```sh\n(.*?)```', (ROOT/'README.md').read_text(), re.S).group(1)
    return [l for l in block.splitlines() if l.strip()]

def test_two_commands():
    cmds = _commands()
    assert len(cmds) == 2 and 'namethatdog demo' in cmds[0] and 'tools/test_all.sh' in cmds[1]

def test_ci_runs_the_readme_test_command():
    assert _commands()[1] in (ROOT/'.ci'/'run').read_text().splitlines()

def test_top_level_index_is_the_home_notebook():
    idx = ROOT/'index.ipynb'
    assert idx.is_symlink() and idx.resolve() == (ROOT/'nbs'/'index.ipynb').resolve()
