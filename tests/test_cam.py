"""Grad-CAM (`namethatdog.cam`) against pytorch-grad-cam, a test-only reference, on the shared pretrained weights and
real photos (skipped without ../shared)"""
import numpy as np, pytest
from conftest import SHARED, WEIGHTS, HAVE_SHARED

pytestmark = pytest.mark.skipif(not HAVE_SHARED, reason='../shared photos or weights not present')

def _photos(n=4):
    return [f for b in ('Abyssinian', 'Bengal', 'american_bulldog') for f in sorted(SHARED.glob(f'{b}_*.jpg'))[:n]]

def _reference(model, layer, xb, targets):
    "pytorch-grad-cam's maps, at the input's size, each scaled to [0, 1]"
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    with GradCAM(model=model, target_layers=[layer]) as ref:
        return ref(input_tensor=xb, targets=[ClassifierOutputTarget(int(t)) for t in targets])

def _corr(a, b):
    "Pearson correlation of two maps; 1 if both are blank (Grad-CAM's ReLU left nothing of a class with no evidence)"
    a,b = np.asarray(a).ravel(),np.asarray(b).ravel()
    if np.ptp(a) < 1e-6 and np.ptp(b) < 1e-6: return 1.
    return np.corrcoef(a, b)[0,1]

def _check(model, layer, xb, targets):
    from namethatdog.cam import grad_cam, scale_cams
    ours = scale_cams(grad_cam(model, xb, targets, layer)[0], xb.shape[-2:]).numpy()
    theirs = _reference(model, layer, xb.as_subclass(type(xb)).clone(), targets)
    corrs = [_corr(a, b) for a,b in zip(ours, theirs)]
    assert min(corrs) > 0.99, corrs
    return ours

def test_imagenet_model_agrees_with_pytorch_grad_cam():
    "The shared ImageNet model itself, hooked at its last convolutional block (bn2), for its top class and another"
    import timm, torch
    from namethatdog.learner import read_weights
    from namethatdog.modelfile import BreedModel
    import namethatdog.cam  # adds BreedModel.batches (through predict) and BreedModel.cams
    net = timm.create_model('tf_efficientnet_lite0')
    net.load_state_dict(read_weights(WEIGHTS))
    bm = BreedModel(net, dict(vocab=[str(i) for i in range(1000)], presize=[256, 256], size=[224, 224], normalize=dict(mean=[0.5]*3, std=[0.5]*3)))
    _,xb = next(bm.batches(_photos(2), bs=6))
    top = net(xb).argmax(1)
    ours_top = _check(net, net.bn2, xb, top)
    ours_ball = _check(net, net.bn2, xb, torch.full_like(top, 852))  # 'tennis ball'
    assert max(_corr(a, b) for a,b in zip(ours_top, ours_ball)) < 0.95  # the map depends on the class asked about

def test_fine_tuned_model_agrees_with_pytorch_grad_cam(big3_model):
    "A model fine-tuned from the shared weights (the body, `model[0]`, as `BreedModel.cams` hooks it), for every class"
    from namethatdog.modelfile import BreedModel
    import namethatdog.cam  # adds BreedModel.batches (through predict) and BreedModel.cams
    bm = BreedModel.load(big3_model)
    _,xb = next(bm.batches(_photos(3), bs=9))
    maps = [_check(bm.model, bm.model[0], xb, [c]*len(xb)) for c in range(len(bm.vocab))]
    for i in range(len(xb)): assert not np.allclose(maps[0][i], maps[1][i], atol=0.05)  # each map depends on the class
