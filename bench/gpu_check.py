"""The GPU checks, in one call. On a machine without CUDA it prints one line saying so and exits 0.

    python bench/gpu_check.py [--out results/gpu_check.json]

On toy pets (generated here: nothing to download), resnet18 from scratch at 64 px, seed 42:
1. mixed precision: the same two epochs in fp32, bf16 (where the GPU has it) and fp16; the mean training loss of each
   must be within TOL (relative) of fp32's;
2. channels-last: the same two epochs in fp32 with fastai's `ChannelsLast`, within TOL of fp32;
3. predict on CUDA: the trained model's probabilities on the validation photos, on the GPU against the CPU, within
   PREDICT_TOL (largest absolute difference);
4. `namethatdog train --distributed` with NCCL, one process per GPU present (one is enough to run the path): it must
   finish and write its model directory;
5. onnxruntime's CUDA provider, if installed: the ONNX export's probabilities against its CPU provider's, within
   PREDICT_TOL.
The last line printed is one JSON object with every figure and `ok`; the exit status is 1 if a check failed."""
import argparse, json, os, subprocess, sys, time
from pathlib import Path
import numpy as np

TOL = 0.05  # relative difference of the mean training loss allowed against fp32
PREDICT_TOL = 2e-4  # largest absolute difference of a probability allowed between CUDA and CPU

def train(dls_fn, precision='fp32', channels_last=False):
    "Two epochs of resnet18 from scratch: (mean training loss, learner)"
    from namethatdog.learner import breed_learner
    from fastai.vision.all import set_seed
    dls = dls_fn()
    set_seed(42, reproducible=True)
    learn = breed_learner(dls, 'resnet18', pretrained=False, precision=precision, channels_last=channels_last)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 1e-2)
    return float(np.mean([float(o) for o in learn.recorder.losses])), round(time.perf_counter()-t, 2), learn

def probs(model, xb, device):
    import torch
    with torch.inference_mode(): return torch.softmax(model.to(device).eval()(xb.to(device)).float(), 1).cpu().numpy()

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--out', default=None, help='also write the JSON object here')
    a = ap.parse_args()
    import torch
    if not torch.cuda.is_available():
        print(json.dumps(dict(skipped='no CUDA GPU on this machine: nothing to check', torch=torch.__version__)))
        return 0
    from namethatdog.data import toy_pets, pets_dls
    from namethatdog.modelfile import save_model_dir, BreedModel
    import namethatdog.predict  # BreedModel.batches
    from common import scratch
    tmp = scratch()
    toy = toy_pets(tmp/'toy', n=40)
    dls_fn = lambda: pets_dls(toy, bs=32, presize=96, size=64, num_workers=0)
    res = dict(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(), torch=torch.__version__, tol=TOL, predict_tol=PREDICT_TOL)
    fp32,res['fp32_s'],learn = train(dls_fn)
    res['fp32_loss'] = round(fp32, 4)
    checks = {}
    for p in (['bf16'] if torch.cuda.is_bf16_supported() else []) + ['fp16']:
        loss,res[f'{p}_s'],_ = train(dls_fn, p)
        res[f'{p}_loss'],checks[p] = round(loss, 4),abs(loss-fp32)/fp32 <= TOL
    loss,res['channels_last_s'],_ = train(dls_fn, channels_last=True)
    res['channels_last_loss'],checks['channels_last'] = round(loss, 4),abs(loss-fp32)/fp32 <= TOL
    model_dir = save_model_dir(learn, tmp/'model')
    bm = BreedModel.load(model_dir)
    xb = torch.cat([x for _,x in bm.batches(sorted(toy.glob('*.jpg'))[:64])])
    diff = float(np.abs(probs(bm.model, xb, 'cuda') - probs(bm.model, xb, 'cpu')).max())
    res['predict_max_diff'],checks['predict'] = diff,diff <= PREDICT_TOL
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'MPLBACKEND': 'Agg'}
    t = time.perf_counter()
    r = subprocess.run([str(Path(sys.executable).parent/'namethatdog'), 'train', str(toy), '--distributed', '--nproc', str(torch.cuda.device_count()),
                        '--arch', 'resnet18', '--no-pretrained', '--size', '64', '--epochs', '1', '--out', str(tmp/'dist')],
                       capture_output=True, text=True, env=env)
    res['distributed_s'],checks['distributed_nccl'] = round(time.perf_counter()-t, 2),r.returncode == 0 and (tmp/'dist'/'model'/'model.json').exists()
    if r.returncode: res['distributed_error'] = r.stderr[-1500:]
    try: import onnxruntime as ort
    except ImportError: ort = None
    if ort is not None and 'CUDAExecutionProvider' in ort.get_available_providers():
        from namethatdog.onnxengine import export_onnx
        export_onnx(model_dir)
        data = (model_dir/json.loads((model_dir/'model.json').read_text())['onnx']['file']).read_bytes()
        outs = {p: ort.InferenceSession(data, providers=[p]).run(None, {'input': xb.numpy()})[0] for p in ('CUDAExecutionProvider', 'CPUExecutionProvider')}
        sm = lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
        d = float(np.abs(sm(outs['CUDAExecutionProvider']) - sm(outs['CPUExecutionProvider'])).max())
        res['onnx_cuda_max_diff'],checks['onnx_cuda'] = d,d <= PREDICT_TOL
    else: res['onnx_cuda'] = 'onnxruntime with the CUDA provider is not installed (pip install onnxruntime-gpu)'
    res['checks'],res['ok'] = checks,all(checks.values())
    line = json.dumps(res)
    if a.out: Path(a.out).write_text(line + '\n')
    print(line)
    return 0 if res['ok'] else 1

if __name__ == '__main__': sys.exit(main())
