"""Load test of `namethatdog serve` on loopback: concurrent clients post one real photo each, many times; the server runs
in its own process, as it is deployed. The baseline, in this process, is the same model naming the same photos one
at a time with `BreedModel.predict` (what each request costs without HTTP, the upload and the queue). The last line
last line printed is a JSON object; its `rows` are the requests without, then with, Grad-CAM heatmaps (`?cam=1`), and
its `ratio` is the requests/s without heatmaps over the in-process predictions/s.

    python bench/serve.py [--model DIR] [--clients 8] [--requests 200]

Without --model it first trains the pretrained default (tf_efficientnet_lite0 from ../shared/weights on the three big
breeds, about 20 s). Photos: the ../shared sample's photos of those breeds (required)."""
import argparse, contextlib, io, json, os, statistics, subprocess, sys, time, warnings
warnings.filterwarnings('ignore')
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import httpx
from common import SHARED, scratch
from namethatdog.modelfile import BreedModel
import namethatdog.predict  # adds BreedModel.predict

BIG3 = ['Abyssinian', 'Bengal', 'american_bulldog']
WEIGHTS = SHARED.parent.parent.parent/'weights'/'efficientnet_lite0'/'tf_efficientnet_lite0.in1k.timm.pth'

def train_default(tmp)->Path:
    from namethatdog.runs import train_pets
    with contextlib.redirect_stdout(io.StringIO()):  # the epoch tables and progress bars
        train_pets(SHARED, tmp/'train', arch='tf_efficientnet_lite0', weights=WEIGHTS, breeds=BIG3, log=lambda *a: None)
    return tmp/'train'/'model'

def start_server(model, port):
    "`namethatdog serve` in its own process; returns it once /health answers"
    exe = Path(sys.executable).parent/'namethatdog'
    p = subprocess.Popen([str(exe), 'serve', str(model), '--port', str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(600):
        try:
            if httpx.get(f'http://127.0.0.1:{port}/health').status_code == 200: return p
        except httpx.TransportError: time.sleep(0.1)
    p.kill(); raise RuntimeError(p.stderr.read().decode()[-2000:])

def load(url, photos, clients, n, cam):
    "Each request posts one photo (cycling through `photos`): (status codes, latencies in s, requests/s)"
    data = [(p.name, p.read_bytes()) for p in photos]
    def one(i):
        name,b = data[i % len(data)]
        with httpx.Client(timeout=120) as c:
            t = time.perf_counter()
            r = c.post(url, files=[('files', (name, b))], params={'cam': '1'} if cam else None)
            ok = r.status_code == 200 and r.json()['predictions'][0]['path'] == name
            return (200 if ok else r.status_code or -1), time.perf_counter()-t
    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex: res = list(ex.map(one, range(n)))
    return [c for c,_ in res], [l for _,l in res], n/(time.perf_counter()-t)

def row(url, photos, clients, requests, cam, direct):
    "One load test: `requests` requests from `clients` clients, with or without heatmaps, as a dict"
    load(url, photos[:8], clients, 16, cam)  # warm up
    codes,lat,rps = load(url, photos, clients, requests, cam)
    q = statistics.quantiles(lat, n=20)
    return dict(cam=cam, answered=codes.count(200), lost=requests-codes.count(200), p50_ms=round(statistics.median(lat)*1000, 1),
                p95_ms=round(q[18]*1000, 1), requests_per_s=round(rps, 2), ratio=round(rps/direct, 2))

def main(model=None, clients=8, requests=200, port=8765):
    tmp = scratch()
    photos = [f for b in BIG3 for f in sorted(SHARED.glob(f'{b}_*.jpg'))[:20]]
    model = Path(model) if model else train_default(tmp)
    bm = BreedModel.load(model)
    bm.predict(photos[:2])  # warm up
    t = time.perf_counter()
    for f in photos: bm.predict([f], progress=False)
    direct = len(photos)/(time.perf_counter()-t)
    server = start_server(model, port)
    try: rows = [row(f'http://127.0.0.1:{port}/api/predict', photos, clients, requests, cam, direct) for cam in (False, True)]
    finally: server.terminate(); server.wait(10)
    print(json.dumps(dict(clients=clients, requests=requests, photos=f'{len(photos)} of the shared sample (3 breeds)',
                          arch=bm.meta['arch'], size=bm.meta['size'], threads=os.cpu_count(),
                          direct_predict_per_s=round(direct, 2), ratio=rows[0]['ratio'], rows=rows)))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model'); ap.add_argument('--clients', type=int, default=8)
    ap.add_argument('--requests', type=int, default=200)
    main(**vars(ap.parse_args()))
