"""Your own photos (issue 25): every layout through doctor, train, interpret, predict and serve (shared photos, linked
into tmp_path); the doctor's layout problems and duplicates on PIL fixtures; review with out-of-fold scores, its page
in Chromium, and an undo that restores every file byte for byte"""
import io, json, os
from pathlib import Path
import pytest
from PIL import Image
from conftest import SHARED, WEIGHTS, HAVE_SHARED, cli
from test_docs import CHROMIUM, CHROMIUM_ARGS, REQUIRE_BROWSER, ARTIFACTS

needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason='../shared photos or weights not present')
BREEDS = ('Abyssinian', 'american_bulldog')
N = 12  # photos of each breed
LITE0 = ('--arch', 'tf_efficientnet_lite0', '--weights', WEIGHTS)

def link(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True); dst.symlink_to(src); return dst

def build(root, kind, n=N):
    "The shared photos of `BREEDS` laid out as `kind` under `root` (symlinks): (data folder, its --labels args)"
    rows = []
    for b in BREEDS:
        for i,f in enumerate(sorted(SHARED.glob(f'{b}_*.jpg'))[:n]):
            if kind == 'names': link(f, root/f.name)
            elif kind == 'folders': link(f, root/b/f.name)
            elif kind == 'train_valid': link(f, root/('valid' if i >= n*3//4 else 'train')/b/f.name)
            else: rows.append((f'photos/{b[:2]}{i}.jpg', b)); link(f, root/rows[-1][0])  # names that say nothing of the breed
    if kind != 'csv': return root,()
    (root/'labels.csv').write_text('fname,label\n' + ''.join(f'{a},{b}\n' for a,b in rows))
    return root,('--labels', 'labels.csv')

def snapshot(root):
    "Every path under `root`: a link's target, a file's bytes"
    return {str(p.relative_to(root)): (os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else 'dir')
            for p in sorted(Path(root).rglob('*'))}

# ---- every layout, end to end

@needs_shared
@pytest.mark.parametrize('kind', ['names', 'folders', 'train_valid', 'csv'])
def test_every_layout_end_to_end(kind, tmp_path):
    data,args = build(tmp_path/'data', kind)
    d = cli('doctor', data, *args)
    assert d.returncode == 0 and f"{kind} layout: {2*N} photos of 2 classes (Abyssinian: {N}, american_bulldog: {N})" in d.stdout, d.stdout + d.stderr
    out = tmp_path/'o'
    r = cli('train', data, *args, *LITE0, '--size', 128, '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{kind} layout: {2*N} photos" in r.stdout
    m,meta = json.loads((out/'metrics.json').read_text()),json.loads((out/'model'/'model.json').read_text())
    assert (m['layout'], meta['layout']['kind'], meta['vocab']) == (kind, kind, list(BREEDS))
    if kind == 'train_valid': assert m['n_valid'] == 2*(N - N*3//4)  # the split of the folders, kept
    assert m['error_rate'] <= 0.25, m  # two breeds ImageNet knows apart
    i = cli('interpret', out/'model', data, '--split', 'all', '--out', tmp_path/'i')  # the labels are read as training read them
    assert i.returncode == 0, i.stderr[-3000:]
    assert json.loads((tmp_path/'i'/'metrics.json').read_text())['n_valid'] == 2*N
    photo = sorted(SHARED.glob('american_bulldog_*.jpg'))[-1]
    p = cli('predict', out/'model', photo, '--json')
    assert p.returncode == 0 and json.loads(p.stdout)['top'][0]['label'] == 'american_bulldog', p.stdout + p.stderr
    from starlette.testclient import TestClient
    from namethatdog.serve import breed_app
    res = TestClient(breed_app(out/'model')).post('/api/predict', files=[('files', ('dog.jpg', photo.read_bytes(), 'image/jpeg'))])
    assert res.status_code == 200 and res.json()['predictions'][0]['top'][0]['label'] == 'american_bulldog', res.text

# ---- the doctor, on every layout problem

def photos(root, names, color='tan'):
    for n in names: (root/n).parent.mkdir(parents=True, exist_ok=True); Image.new('RGB', (64, 64), color).save(root/n)
    return root

def doctor(*args):
    from namethatdog.cli import doctor as run
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf): rc = run(*args[:1], **dict(args[1:]) if len(args) > 1 else {})
    return rc,buf.getvalue()

def test_doctor_folders(tmp_path):
    d = photos(tmp_path, ['pug/1.jpg', 'pug/2.jpg', 'pug/old/3.jpg', 'Pug/4.jpg', 'Pug/5.jpg', 'beagle/1.jpg', 'beagle/2.jpg',
                          'samoyed/1.jpg', 'loose.jpg'])
    (d/'husky').mkdir()
    rc,out = doctor(d, ('duplicates', False))
    assert rc == 1
    for kind,path in [('loose', 'loose.jpg'), ('too deep', 'pug/old/3.jpg'), ('empty', 'husky'), ('case clash', 'Pug/4.jpg'),
                      ('case clash', 'pug/1.jpg'), ('too few', 'samoyed/1.jpg')]:
        assert any(l.startswith(kind) and f"{d/path}:" in l for l in out.splitlines()), (kind, path, out)
    assert 'folders layout: 2 photos of 1 class (beagle: 2)' in out

def test_doctor_csv(tmp_path):
    d = photos(tmp_path, ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'stray.jpg'])
    (d/'labels.csv').write_text('fname,label\na.jpg,pug\nb.jpg,pug\nc.jpg,beagle\nd.jpg,beagle\ngone.jpg,pug\na.jpg,beagle\ne.jpg,\n')
    rc,out = doctor(d, ('labels', 'labels.csv'), ('duplicates', False))
    assert rc == 1
    csv = d/'labels.csv'
    for kind,where in [('missing', f'{csv}:6'), ('two labels', f'{csv}:7'), ('no label', f'{csv}:8'), ('unlisted', f"{d/'stray.jpg'}")]:
        assert any(l.startswith(kind) and where + ':' in l for l in out.splitlines()), (kind, where, out)
    (d/'bad.csv').write_text('file,breed\na.jpg,pug\nb.jpg,pug\n')
    with pytest.raises(ValueError, match=r"bad.csv: no column 'fname', 'label'"): doctor(d, ('labels', 'bad.csv'))
    rc,out = doctor(d, ('labels', 'bad.csv'), ('fname_col', 'file'), ('label_col', 'breed'), ('duplicates', False))
    assert 'csv layout: 2 photos of 1 class (pug: 2)' in out

def test_doctor_duplicates(tmp_path):
    "An exact copy across train and valid (leakage), and a re-saved copy with another label"
    rng = __import__('numpy').random.default_rng(0)
    pics = [Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype='uint8')).resize((128, 96), Image.BILINEAR) for _ in range(5)]
    d = tmp_path/'tv'
    for i,(side,label) in enumerate([('train', 'pug'), ('train', 'pug'), ('train', 'beagle'), ('valid', 'beagle'), ('valid', 'pug')]):
        (d/side/label).mkdir(parents=True, exist_ok=True); pics[i].save(d/side/label/f'{i}.jpg', quality=90)
    (d/'valid'/'pug'/'copy.jpg').write_bytes((d/'train'/'pug'/'0.jpg').read_bytes())  # the same file in valid
    pics[2].resize((100, 75)).save(d/'train'/'pug'/'again.jpg', quality=60)  # photo 2 (a beagle) again, as a pug
    rc,out = doctor(d)
    assert rc == 1, out
    assert '2 duplicate pairs (1 exact): 1 across train and valid, 1 with different labels' in out, out
    assert f"{d/'train'/'pug'/'0.jpg'}  {d/'valid'/'pug'/'copy.jpg'}: one in train, one in valid" in out
    assert f"labelled 'beagle' and 'pug'" in out and str(d/'train'/'pug'/'again.jpg') in out

# ---- review: out-of-fold scores, the page, undo

@pytest.fixture(scope='module')
def reviewed(tmp_path_factory):
    "Class folders of two breeds with three photos planted in the other breed's folder, reviewed: (data, out, planted, snapshot)"
    if not HAVE_SHARED: pytest.skip('../shared photos or weights not present')
    tmp = tmp_path_factory.mktemp('review')
    data,_ = build(tmp/'data', 'folders', n=20)
    moves = [(f, other) for b,other,k in [('Abyssinian', 'american_bulldog', 2), ('american_bulldog', 'Abyssinian', 1)]
             for f in sorted((data/b).iterdir())[:k]]  # chosen before any moves
    planted = []
    for f,other in moves: f.rename(data/other/f.name); planted.append(f'{other}/{f.name}')
    before = snapshot(data)
    r = cli('review', data, '--out', tmp/'out', *LITE0, '--size', 160)
    assert r.returncode == 0, r.stderr[-3000:]
    return data,tmp/'out',planted,before,r.stdout

@needs_shared
def test_review_finds_the_planted_labels(reviewed):
    import pandas as pd
    data,out,planted,before,stdout = reviewed
    tab = pd.read_csv(out/'review.csv', keep_default_na=False)
    assert list(tab.columns[:5]) == ['id', 'path', 'given', 'suggested', 'score']
    assert set(tab.path[:len(planted)]) == set(planted), tab.head(6)
    assert tab.doubted[:len(planted)].all() and (tab.suggested[:len(planted)] != tab.given[:len(planted)]).all()
    assert (tab.score.diff().dropna() <= 0).all() and (out/'suspects.png').stat().st_size > 10_000
    assert f"3 of 40 photos doubted" in stdout or "of 40 photos doubted" in stdout
    assert snapshot(data) == before  # reviewing changes nothing

@needs_shared
def test_review_page_relabel_exclude_undo(reviewed):
    "In Chromium: relabel the top suspect to what the folds suggest, exclude the second; then --undo: every file back"
    if not CHROMIUM:
        if REQUIRE_BROWSER: pytest.fail('NAMETHATDOG_REQUIRE_BROWSER=1 but no chromium on the PATH')
        pytest.skip('no chromium on the PATH (Debian: apt-get install chromium); CI installs it')
    import pandas as pd
    from playwright.sync_api import sync_playwright
    from namethatdog.serve import serving
    from namethatdog.reviewpage import review_app
    data,out,planted,before,_ = reviewed
    tab = pd.read_csv(out/'review.csv', keep_default_na=False)
    with serving(review_app(out)) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = b.new_page(viewport=dict(width=1100, height=900))
        page.goto(url); page.wait_for_load_state('networkidle')
        assert page.title() == 'Review labels'
        page.locator('#s0 button[value=relabel]').click(); page.wait_for_load_state('networkidle')
        page.locator('#s1 button[value=exclude]').click(); page.wait_for_load_state('networkidle')
        assert page.locator('#s0 .state').inner_text() == f"done: relabel to {tab.suggested[0]}"
        assert page.locator('#s1 .state').inner_text() == 'done: exclude'
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS/'review-page.png'))
        b.close()
    moved = Path(tab.path[0]).name
    assert (data/tab.suggested[0]/moved).is_symlink() and (data/'_excluded'/tab.path[1]).is_symlink()
    assert [json.loads(l)['action'] for l in (out/'actions.jsonl').read_text().splitlines()] == ['relabel', 'exclude']
    u = cli('review', data, '--out', out, '--undo')
    assert u.returncode == 0 and 'undid 2 actions' in u.stdout, u.stdout + u.stderr
    assert snapshot(data) == before

def test_review_page_on_a_csv(tmp_path):
    "The page relabels and excludes in a CSV layout (the CSV rewritten, with a backup); undo restores it byte for byte"
    import numpy as np
    from starlette.testclient import TestClient
    from namethatdog.layouts import detect_layout
    from namethatdog.review import review_table
    from namethatdog.files import save_csv, save_json
    from namethatdog.reviewpage import review_app
    d = photos(tmp_path/'data', ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'])
    (d/'labels.csv').write_text('fname,label\na.jpg,pug\nb.jpg,pug\nc.jpg,beagle\nd.jpg,beagle\n')
    before = snapshot(d)
    lay = detect_layout(d, 'labels.csv')
    (tmp_path/'out').mkdir()
    save_csv(review_table(lay, np.array([[.9, .1], [.5, .5], [.2, .8], [.1, .9]]), ['beagle', 'pug']), tmp_path/'out'/'review.csv')
    save_json(tmp_path/'out'/'review.json', dict(data=str(d), layout='csv', source=str(d/'labels.csv'), classes=['beagle', 'pug']))
    app = review_app(tmp_path/'out')
    c,tok = TestClient(app),app.state.token
    assert c.post('/act/0', data=dict(action='relabel', label='beagle', token=tok), follow_redirects=False).status_code == 303
    assert c.post('/act/1', data=dict(action='exclude', token=tok), follow_redirects=False).status_code == 303
    assert (d/'labels.csv').read_text() == 'fname,label\na.jpg,beagle\nb.jpg,pug\nc.jpg,beagle\n'  # rows 0 and 1: a.jpg and d.jpg
    assert (d/'_excluded'/'d.jpg').exists() and len(list((tmp_path/'out'/'backups').iterdir())) == 2
    from namethatdog.review import Review
    assert Review(tmp_path/'out').undo() == 2
    assert snapshot(d) == before
