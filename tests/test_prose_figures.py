"""A figure stated in a notebook's prose is one that an output beside it (or a `bench/results` file the notebook reads) shows.

Every figure in the prose is checked: a number with a decimal point, or a whole number followed by a unit
(s, ms, %, ×, images or photos a second). It must equal, at the precision the sentence gives it, a number printed by
the code cells next to the Markdown cell (those just before it and those just after it), or a number in a
`bench/results/*.json` file that the notebook reads, or one a test line (`test_close`, `assert`) beside it checks. "About" (or ≈, ~) allows 10 %. A cell may list the numbers it
states that are settings or arithmetic rather than measurements, in a comment the page does not show:
`<!-- not measured: 0.75 224 -->`."""
import json, re
from pathlib import Path
import pytest
from conftest import ROOT

NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if not any(s.startswith(('.', '_')) for s in p.relative_to(ROOT/'nbs').parts))
UNIT = r'(?:\s?(?:s|ms|%|img/s|images/s|photos/s|photos a second|images a second)(?![\w/])|\s?×(?!\s?\d))'
FIGURE = re.compile(rf'(?<![\w.\-/^])(?:(\d+\.\d+)(?![\w.])|(\d+){UNIT})'
                    r'|(?:about|≈|~|roughly|around)\s+(\d[\d,]*)(?![\w.])', re.I)
ABOUT = re.compile(r'(?:about|≈|~|roughly|around)\s*$', re.I)
NUMBER = re.compile(r'-?\d+(?:\.\d+)?(?:e[-+]?\d+)?')
ASSERT = re.compile(r'\s*(test_\w+|assert)\b')
RESULTS = re.compile(r"results/(\w+)\.json")

def prose(src:str)->str:
    "The sentences of a Markdown cell: no code, no code spans, no comments, no links' targets"
    for rx in (r'```.*?```', r'`[^`\n]*`', r'<!--.*?-->', r'\]\([^)]*\)', r'<[^>]+>'): src = re.sub(rx, ' ', src, flags=re.S)
    return src

def numbers(text:str)->list: return [float(x) for x in NUMBER.findall(text)]

def output_text(c)->str:
    parts = []
    for o in c.get('outputs', []):
        parts += [o.get('text', '')] + [v for k,v in o.get('data', {}).items() if k.startswith('text/') and k != 'text/html']
    return '\n'.join(''.join(p) if isinstance(p, list) else p for p in parts)

def results_numbers(names)->list:
    vals = []
    def walk(o):
        if isinstance(o, dict): [walk(v) for v in o.values()]
        elif isinstance(o, list): [walk(v) for v in o]
        elif isinstance(o, (int, float)) and not isinstance(o, bool): vals.append(float(o))
    for n in names:
        p = ROOT/'bench'/'results'/f'{n}.json'
        if p.exists(): walk(json.loads(p.read_text()))
    return vals

def agrees(fig:str, about:bool, vals)->bool:
    k = len(fig.split('.')[1]) if '.' in fig else 0
    f = float(fig)
    for v in vals:
        for s in (v, abs(v), v*100, abs(v)*100):  # a share printed as 0.84 may be said as 84 %; a change of -0.9 % as within 1 %
            if about and f and abs(s - f) <= 0.1*abs(f): return True
            if abs(round(s, k) - f) < 1e-9: return True
    return False

def unchecked(nb:Path)->list:
    "(figure, context) for every figure in the prose of `nb` that nothing beside it shows"
    cells = json.loads(nb.read_text())['cells']
    src = '\n'.join(''.join(c['source']) for c in cells)
    files = set(RESULTS.findall(src))
    res,bad = results_numbers(files),[]
    for i,c in enumerate(cells):
        if c['cell_type'] != 'markdown': continue
        s = ''.join(c['source'])
        allowed = {x for m in re.findall(r'<!--\s*not measured:(.*?)-->', s, re.S) for x in m.split()}
        near = []
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(cells) and cells[j]['cell_type'] == 'code':
                near.append(output_text(cells[j]))
                near += [l for l in ''.join(cells[j]['source']).splitlines() if ASSERT.match(l)]  # a figure asserted by a test
                j += step
        vals = numbers('\n'.join(near)) + res
        text = prose(s)
        for m in FIGURE.finditer(text):
            fig = (m.group(1) or m.group(2) or m.group(3)).replace(',', '')
            about = bool(m.group(3)) or bool(ABOUT.search(text[:m.start()]))
            if fig in allowed: continue
            if not agrees(fig, about, vals):
                bad.append((fig, ' '.join(text[max(0, m.start()-70):m.end()+20].split())))
    return bad

def test_the_check_finds_a_contradiction():
    assert agrees('0.84', False, [0.8412]) and not agrees('0.84', False, [0.822])
    assert agrees('350', True, [347.2]) and not agrees('350', True, [190.0])
    assert agrees('84', False, [0.84])
    assert FIGURE.search('about 5 px').group(3) == '5' and FIGURE.search('0.026 error').group(1) == '0.026'
    assert FIGURE.search('6.7× slower').group(1) == '6.7' and FIGURE.search('in 18 s').group(2) == '18'
    assert not FIGURE.search('resnet34, 1e-2, 224 px, a 500×375 photo and Python 3')

@pytest.mark.parametrize('nb', NBS, ids=lambda p: p.relative_to(ROOT/'nbs').as_posix())
def test_prose_figures_are_shown_beside_them(nb):
    bad = unchecked(nb)
    assert not bad, f"{nb.name}: figures in the prose that no output beside them (nor a results file it reads) shows:\n" + \
        '\n'.join(f'  {f}: ...{ctx}...' for f,ctx in bad[:40])
