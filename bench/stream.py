"""Prediction at scale: `namethatdog predict --out FILE` (streamed) over 10,000 and 100,000 small generated photos, each
run in its own process, with its peak resident memory (RSS, the kernel's high-water mark `VmHWM` of that process, read
every 0.1 s); beside it, the
baseline: the same model and photos through `predict_paths`, which collects every result in memory (what `predict`
did before it streamed). Then a `--resume` of the finished 100,000 (nothing left to do: it reads the file and walks
the folder). A run cut short and resumed is a test (tests/test_stream.py), not a benchmark.
The last line printed is a JSON object.

    python bench/stream.py [--n 100000] [--small 10000] [--size 64]

The model is `namethatdog demo`'s (a ResNet-18 trained from scratch on toy pets, 64 px), exported to ONNX, run by the
onnx engine, as a deployment would; photos are generated toy pets of 64 to 96 pixels a side (JPEG)."""
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import numpy as np
from common import scratch

def _make(args):
    "Write toy photos number `lo` to `hi` into `dest`"
    dest,lo,hi = args
    from namethatdog.data import TOY_BREEDS, draw_toy_pet
    rng,breeds = np.random.default_rng(lo),list(TOY_BREEDS)
    for i in range(lo, hi):
        w,h = (int(o) for o in rng.integers(64, 97, 2))
        draw_toy_pet(breeds[i % len(breeds)], rng, w, h).save(f'{dest}/{breeds[i % len(breeds)]}_{i}.jpg', quality=85)

def generate(dest:Path, n:int, start:int=0):
    dest.mkdir(parents=True, exist_ok=True)
    step = 2000
    with ProcessPoolExecutor(os.cpu_count()) as ex: list(ex.map(_make, [(str(dest), i, min(i+step, start+n)) for i in range(start, start+n, step)]))

def run(cmd, env=None):
    "(seconds, peak RSS in MB, returncode, stderr tail) of a command in its own process; the peak is the kernel's VmHWM of that process"
    t,peak = time.perf_counter(),0
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    tail = []
    def _read():
        for l in p.stderr: tail[:] = (tail + [l])[-5:]
    import threading; th = threading.Thread(target=_read); th.start()
    while p.poll() is None:
        try: peak = max(peak, int(next(l for l in open(f'/proc/{p.pid}/status') if l.startswith('VmHWM')).split()[1]))
        except (OSError, StopIteration): pass
        time.sleep(0.1)
    th.join()
    return time.perf_counter()-t, peak/1024, p.returncode, ''.join(tail)

BASELINE = "import sys; from namethatdog.onnxengine import predict_paths; p,e = predict_paths(sys.argv[1], [sys.argv[2]], bs=32); print(len(p), len(e))"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=100_000); ap.add_argument('--small', type=int, default=10_000)
    a = ap.parse_args()
    tmp = scratch()
    bin_ = Path(sys.executable).parent
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'MPLBACKEND': 'Agg'}
    subprocess.run([str(bin_/'namethatdog'), 'demo', '--out', str(tmp/'demo')], check=True, capture_output=True, env=env)
    model = tmp/'demo'/'model'
    subprocess.run([str(bin_/'namethatdog'), 'export', str(model), '--onnx'], check=True, capture_output=True, env=env)
    t = time.perf_counter()
    small,big = tmp/'small',tmp/'big'
    generate(small, a.small); generate(big, a.n)
    gen_s = time.perf_counter()-t
    print(f"generated {a.small} + {a.n} photos in {gen_s:.0f} s", flush=True)
    rows = []
    for name,folder,n in (('small', small, a.small), ('big', big, a.n)):
        out = tmp/f'{name}.jsonl'
        s,rss,rc,err = run([str(bin_/'namethatdog'), 'predict', str(model), str(folder), '--out', str(out)], env)
        lines = out.read_text().splitlines()
        done = {json.loads(l)['path'] for l in lines}
        rows.append(dict(kind='stream', images=n, seconds=round(s, 1), images_per_s=round(n/s, 1), peak_rss_mb=round(rss), rc=rc,
                         lines=len(lines), distinct=len(done)))
        print(rows[-1], err.splitlines()[-1:] if err else '', flush=True)
        s,rss,rc,err = run([sys.executable, '-c', BASELINE, str(model), str(folder)], env)
        rows.append(dict(kind='in-memory list (predict_paths)', images=n, seconds=round(s, 1), images_per_s=round(n/s, 1), peak_rss_mb=round(rss), rc=rc))
        print(rows[-1], flush=True)
    s,rss,rc,err = run([str(bin_/'namethatdog'), 'predict', str(model), str(big), '--out', str(tmp/'big.jsonl'), '--resume'], env)
    resume_done = dict(kind='resume, all done', images=a.n, seconds=round(s, 1), peak_rss_mb=round(rss), rc=rc,
                       lines=len((tmp/'big.jsonl').read_text().splitlines()))
    print(resume_done, flush=True)
    st,sb = (next(r for r in rows if r['kind']=='stream' and r['images']==k) for k in (a.small, a.n))
    bt,bb = (next(r for r in rows if r['kind']!='stream' and r['images']==k) for k in (a.small, a.n))
    res = dict(bench='stream', engine='onnx', model='resnet18 from scratch, 64 px (namethatdog demo)', photos='generated toy pets, 64-96 px JPEG',
               cpus=os.cpu_count(), rows=rows, resume=resume_done,
               rss_growth_stream_mb=round(sb['peak_rss_mb']-st['peak_rss_mb']), rss_growth_in_memory_mb=round(bb['peak_rss_mb']-bt['peak_rss_mb']),
               ratio=round(sb['images_per_s']/bb['images_per_s'], 3))
    print(json.dumps(res))

if __name__ == '__main__': main()
