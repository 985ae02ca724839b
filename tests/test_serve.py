"""`namethatdog serve`: the JSON API with every kind of upload, the limits, the page in headless Chromium with a real
photo (needs ../shared and Chromium, as the docs test does) and a load test on loopback"""
import contextlib, io, json, os, socket, statistics, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pytest
from PIL import Image
from conftest import SHARED, HAVE_SHARED, BIG3, cli
from test_docs import CHROMIUM, CHROMIUM_ARGS, REQUIRE_BROWSER, ARTIFACTS

@pytest.fixture(scope='module')
def app(toy_model):
    from namethatdog.serve import breed_app
    return breed_app(toy_model, max_file_mb=0.5, max_files=8)

@pytest.fixture(scope='module')
def client(app):
    from starlette.testclient import TestClient
    return TestClient(app)

@pytest.fixture(scope='module')
def uploads(toy, tmp_path_factory):
    "Eight files of every kind a user sends, made with PIL: {name: (path, what the answer must say)}"
    d = tmp_path_factory.mktemp('uploads')
    src = Image.open(sorted(toy.glob('*.jpg'))[0]).convert('RGB')
    src.save(d/'photo.jpg', quality=95)
    wide = src.resize((src.width*2, src.height))  # a landscape photo stored sideways, with EXIF orientation 6
    exif = Image.Exif(); exif[0x0112] = 6
    wide.transpose(Image.Transpose.ROTATE_90).save(d/'rotated.jpg', quality=95, exif=exif)
    wide.save(d/'upright.png')
    rgba = src.convert('RGBA'); rgba.putalpha(Image.linear_gradient('L').resize(src.size)); rgba.save(d/'alpha.png')
    src.save(d/'photo.webp', quality=90)
    (d/'truncated.jpg').write_bytes((d/'photo.jpg').read_bytes()[:600])
    (d/'note.jpg').write_text('Dear diary, today I took a photo of the dog.')
    Image.frombytes('RGB', (500, 500), os.urandom(750_000)).save(d/'oversized.png')  # noise does not compress: 0.7 MB
    Image.new('RGB', (9000, 6000)).save(d/'huge.png')  # 54 megapixels, a small file
    return d

GOOD = ('photo.jpg', 'rotated.jpg', 'alpha.png', 'photo.webp')
BAD = {'truncated.jpg': 'damaged or truncated', 'note.jpg': 'not an image: the file holds text',
       'oversized.png': 'too large: over the limit of 0.5 MB a file', 'huge.png': 'pixels, above the limit of 50,000,000'}

def _post(client, d, names, **kw):
    return client.post('/api/predict', files=[('files', (n, (d/n).read_bytes())) for n in names], **kw)

def test_eight_files_at_once(client, uploads, toy_model):
    "Every kind of file in one request: the four good ones answered as `namethatdog predict --json` answers them"
    assert (uploads/'oversized.png').stat().st_size > 0.5*2**20
    names = ['photo.jpg', 'truncated.jpg', 'rotated.jpg', 'note.jpg', 'alpha.png', 'oversized.png', 'photo.webp', 'huge.png']
    r = _post(client, uploads, names)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p['path'] for p in body['predictions']] == list(GOOD)
    assert [e['path'] for e in body['errors']] == [n for n in names if n in BAD]
    for e in body['errors']: assert BAD[e['path']] in e['error'], e
    p = cli('predict', toy_model, *[uploads/n for n in GOOD], '--json')
    assert p.returncode == 0, p.stderr[-2000:]
    want = {Path(o['path']).name: o['top'] for o in map(json.loads, p.stdout.splitlines())}
    for o in body['predictions']: assert o['top'] == want[o['path']] and o['unsure'] == (o['known'] and o['top'][0]['probability'] < 0.5)

def test_each_file_alone(client, uploads):
    for n in GOOD:
        r = _post(client, uploads, [n]).json()
        assert [p['path'] for p in r['predictions']] == [n] and not r['errors']
    for n,why in BAD.items():
        r = _post(client, uploads, [n]).json()
        assert not r['predictions'] and why in r['errors'][0]['error']

def test_exif_rotation_applied(client, uploads):
    "A photo stored sideways with EXIF orientation 6 is answered as the same photo stored upright"
    from namethatdog.images import read_image
    assert read_image(uploads/'rotated.jpg').size == Image.open(uploads/'upright.png').size
    rot,up = (_post(client, uploads, [n]).json()['predictions'][0]['top'] for n in ('rotated.jpg', 'upright.png'))
    assert [o['label'] for o in rot] == [o['label'] for o in up]
    for a,b in zip(rot, up): assert a['probability'] == pytest.approx(b['probability'], abs=0.02)  # JPEG's loss, not the rotation

def test_cam_pictures(client, uploads):
    import base64
    p = _post(client, uploads, ['photo.jpg'], params={'cam': '1'}).json()['predictions'][0]
    for k in ('image', 'cam'):
        im = Image.open(io.BytesIO(base64.b64decode(p[k].split(',', 1)[1])))
        assert (im.format, im.size) == ('JPEG', (64, 64))

def test_limits(client, app):
    from starlette.testclient import TestClient
    r = client.post('/api/predict', files=[('files', (f'{i}.jpg', b'x')) for i in range(9)])
    assert r.status_code == 400 and 'Too many files' in r.json()['error']
    assert client.post('/api/predict', data={'a': 'b'}).status_code == 400
    assert client.post('/api/predict', json={'a': 'b'}).status_code == 400
    big = 8*2**20  # past 8 files of 0.5 MB and the form's room
    r = client.post('/api/predict', files=[('files', ('a.jpg', b'x'*big))])
    assert r.status_code == 413 and 'too large' in r.json()['error']
    def stream():  # no Content-Length: the body is cut off as it streams, not read whole first
        yield b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
        for _ in range(64): yield b'x'*2**20
    r = client.post('/api/predict', content=stream(), headers={'content-type': 'multipart/form-data; boundary=B'})
    assert r.status_code == 413

def test_uploads_never_written_under_their_names(client, uploads, app, monkeypatch):
    svc = app.state.service
    seen = []
    real = type(svc.bm).predict
    def spy(self, files, **kw):
        seen.extend(map(Path, files)); return real(self, files, **kw)
    monkeypatch.setattr(type(svc.bm), 'predict', spy)
    before = set(os.listdir(tempfile.gettempdir()))
    data = (uploads/'photo.jpg').read_bytes()
    r = client.post('/api/predict', files=[('files', ('../../evil.jpg', data)), ('files', ('/etc/passwd', data))])
    assert [p['path'] for p in r.json()['predictions']] == ['../../evil.jpg', '/etc/passwd']  # echoed, never used
    assert [p.name for p in seen] == ['upload-0', 'upload-1'] and all(p.parent.parent == Path(tempfile.gettempdir()) for p in seen)
    assert set(os.listdir(tempfile.gettempdir())) == before  # and removed after the answer

from namethatdog.serve import serving  # `breed_app` on a free loopback port, in a thread

def _load(url, photo:bytes, clients=8, n=200):
    "`n` requests from `clients` concurrent clients: (status codes, latencies in s, requests/s)"
    import httpx
    def one(_):
        with httpx.Client(timeout=60) as c:
            t = time.perf_counter()
            r = c.post(url + 'api/predict', files=[('files', ('dog.jpg', photo))])
            ok = r.status_code == 200 and [p['path'] for p in r.json()['predictions']] == ['dog.jpg']
            return (r.status_code if r.status_code != 200 or ok else 'wrong answer'), time.perf_counter()-t
    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex: res = list(ex.map(one, range(n)))
    return [s for s,_ in res], [l for _,l in res], n/(time.perf_counter()-t)

def test_load_on_loopback(toy_model, uploads):
    "8 concurrent clients, 200 requests: none lost; with a queue of 2, the rest are told busy (503), none lost either"
    from namethatdog.serve import breed_app
    photo = (uploads/'photo.jpg').read_bytes()
    with serving(breed_app(toy_model)) as url: codes,lat,rps = _load(url, photo)
    assert codes == [200]*200, [c for c in codes if c != 200]
    q = statistics.quantiles(lat, n=20)
    print(f"\nload test: p50 {statistics.median(lat)*1000:.0f} ms, p95 {q[18]*1000:.0f} ms, {rps:.1f} requests/s")
    with serving(breed_app(toy_model, queue=2)) as url: codes,_,_ = _load(url, photo, n=64)
    assert set(codes) <= {200, 503} and 503 in codes and 200 in codes

def test_cli_serve_help():
    r = cli('serve', '--help')
    assert r.returncode == 0 and '--max-file-mb' in r.stdout and '127.0.0.1' in r.stdout

# ---- the page, in a real browser, with a model fine-tuned from the shared weights

@pytest.mark.skipif(not HAVE_SHARED, reason='../shared photos or weights not present')
def test_page_in_chromium(big3_model):
    if not CHROMIUM:
        if REQUIRE_BROWSER: pytest.fail('NAMETHATDOG_REQUIRE_BROWSER=1 but no chromium on the PATH')
        pytest.skip('no chromium on the PATH (Debian: apt-get install chromium); CI installs it')
    from playwright.sync_api import sync_playwright
    from namethatdog.serve import breed_app
    from namethatdog.modelfile import BreedModel
    photo = sorted(SHARED.glob('Bengal_*.jpg'))[-1]
    want = BreedModel.load(big3_model).predict([photo])[0]['top'][0]['label']
    failed = []
    with serving(breed_app(big3_model)) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = b.new_page(viewport=dict(width=1000, height=760))
        page.on('requestfailed', lambda r: failed.append(r.url))
        page.goto(url); page.wait_for_load_state('networkidle')
        assert page.title() == 'Name that dog'
        page.set_input_files('#files', str(photo))
        breed = page.locator('.card h2.breed').first
        breed.wait_for(timeout=60_000)
        assert breed.get_attribute('data-label') == want == 'Bengal'
        assert page.locator('.card img.view').first.is_visible() and not page.locator('.card img.cam').first.is_visible()
        page.check('#cam-toggle')
        assert page.locator('.card img.cam').first.is_visible() and not page.locator('.card img.view').first.is_visible()
        pug = sorted(SHARED.glob('pug_*.jpg'))[0]  # a breed the model was not trained on: its card says so
        page.set_input_files('#files', [str(photo), str(sorted(SHARED.glob('Abyssinian_*.jpg'))[-1]), str(pug)])
        page.locator('.card h2.breed').nth(2).wait_for(timeout=60_000)
        unknown = page.locator('.card.unknown h2.breed')
        assert unknown.count() == 1 and unknown.first.inner_text() == 'Not one of my breeds (looks like: pug)', page.locator('.card h2').all_inner_texts()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS/'serve-page.png'), full_page=True)
        b.close()
    assert not failed, failed
    assert (ARTIFACTS/'serve-page.png').stat().st_size > 20_000
