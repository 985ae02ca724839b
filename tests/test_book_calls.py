"""Chapters 5 and 6 of the book, typed as a reader types them, on namethatdog's objects.

Each call below is re-typed from the chapters' prose and fastai's documentation (sizes made small and the body
trained from scratch, so it runs offline on a CPU in seconds); each must run, and where fastai has the same thing,
give what fastai gives on the same data."""
import contextlib, io
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from fastai.vision.all import *
from namethatdog.data import pets_block, pets_dls
from namethatdog.learner import breed_learner, find_lr, fit_breeds
from namethatdog.interpret import BreedInterpretation
from namethatdog.multilabel import toy_multilabel, multilabel_block, multilabel_learner, labels_of
from namethatdog.regression import toy_markers, point_block, point_learner, show_points
from namethatdog import losses

for _n in [n for n in globals() if n.startswith('test')]: del globals()[_n]  # fastcore's test helpers, which `import *` brings

PAT = r'(.+)_\d+.jpg$'

@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close('all')

def quiet(f, *args, **kwargs):
    "`f(*args, **kwargs)` with what it prints captured: (result, printed text)"
    with contextlib.redirect_stdout(io.StringIO()) as out: res = f(*args, **kwargs)
    return res, out.getvalue()

@pytest.fixture(scope='module')
def pets(toy):
    "The book's `pets` DataBlock, typed on `pets_block` (presize and size scaled down)"
    return pets_block(get_items=get_image_files, splitter=RandomSplitter(seed=42),
                      get_y=using_attr(RegexLabeller(PAT), 'name'),
                      item_tfms=Resize(96), batch_tfms=aug_transforms(size=64, min_scale=0.75))

@pytest.fixture(scope='module')
def dls(pets, toy): return pets.dataloaders(toy, bs=16, num_workers=0)

def test_datablock_as_typed(pets, toy, dls):
    book = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files, splitter=RandomSplitter(seed=42),
                     get_y=using_attr(RegexLabeller(PAT), 'name'), item_tfms=Resize(96),
                     batch_tfms=aug_transforms(size=64, min_scale=0.75))
    bdls = book.dataloaders(toy, bs=16, num_workers=0)
    assert list(dls.valid_ds.items) == list(bdls.valid_ds.items) and dls.vocab == bdls.vocab
    _,text = quiet(pets_block(presize=96, size=64).summary, toy, bs=4)  # `pets1.summary(path/"images")`
    assert 'Building one batch' in text and 'Final sample' in text
    assert pets_block(presize=96, size=64).dataloaders(toy, bs=16, num_workers=0).vocab == dls.vocab  # our split, the book's call
    assert list(pets_dls(toy, bs=16, presize=96, size=64, num_workers=0, splitter=RandomSplitter(seed=42),
                         get_items=get_image_files).valid_ds.items) == list(bdls.valid_ds.items)
    dls.show_batch(nrows=1, ncols=3)

def test_first_model_and_predictions(dls):
    learn = vision_learner(dls, resnet18, pretrained=False, metrics=error_rate)
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(1)
    label,idx,probs = learn.predict(dls.valid_ds.items[0])  # chapter 2's call, on a file
    assert label in dls.vocab and abs(float(probs.sum()) - 1) < 1e-5
    with learn.no_bar(): learn.show_results(max_n=3)
    x,y = dls.one_batch()
    preds,_ = learn.get_preds(dl=[(x,y)])
    assert len(preds[0]) == len(dls.vocab) and abs(float(preds[0].sum()) - 1) < 1e-5
    acts = torch.randn((6,2))*2
    targ = tensor([0,1,0,1,1,0])
    assert torch.allclose(losses.softmax(acts), torch.softmax(acts, dim=1))
    sm_acts = torch.softmax(acts, dim=1)
    idx = range(6)
    assert torch.allclose(-sm_acts[idx, targ], F.nll_loss(sm_acts, targ, reduction='none'))
    assert torch.allclose(losses.cross_entropy(acts, targ, reduction='none'), nn.CrossEntropyLoss(reduction='none')(acts, targ), atol=1e-5)
    assert torch.allclose(losses.cross_entropy(acts, targ), F.cross_entropy(acts, targ), atol=1e-6)

def test_interpretation_as_typed(dls):
    learn = breed_learner(dls, 'resnet18', pretrained=False)
    with learn.no_bar(), learn.no_logging(): fit_breeds(learn, 1)
    interp = BreedInterpretation.from_learner(learn)
    ci = ClassificationInterpretation.from_learner(learn)
    fig = interp.plot_confusion_matrix(figsize=(12,12), dpi=60)
    assert tuple(fig.get_size_inches()) == (12, 12) and fig.dpi == 60
    assert interp.most_confused(min_val=1) == [(a,b,int(c)) for a,b,c in ci.most_confused(min_val=1)]
    assert len(interp.plot_top_losses(5, nrows=1).axes) == 5
    fl,fi = ci.top_losses(5)
    tl,ti = interp.top_losses(5)
    assert torch.allclose(tl, fl, atol=1e-5)
    _,text = quiet(interp.print_classification_report)
    assert 'precision' in text and dls.vocab[0] in text

def test_lr_find_as_typed(dls):
    learn = breed_learner(dls, 'resnet18', pretrained=False)
    res = find_lr(learn, num_it=20, suggest_funcs=(minimum, steep), show_plot=False)
    lr_min,lr_steep = res
    lrs,ls = tensor(learn.recorder.lrs[2:-5]),tensor(learn.recorder.losses[2:-5])  # what fastai's `lr_find` hands its suggestions
    assert type(res).__name__ == 'SuggestedLRs' and (lr_min, lr_steep) == (minimum(lrs, ls, 20)[0], steep(lrs, ls, 20)[0])
    sugg = find_lr(learn, num_it=20, show_plot=False)
    assert type(sugg).__name__ == 'SuggestedLRs' and sugg._fields == ('valley', 'slide', 'minimum', 'steep')

def test_discriminative_and_fp16_as_typed(dls):
    learn = breed_learner(dls, resnet18, pretrained=False, metrics=[error_rate, accuracy])  # the architecture as the book passes it
    assert learn.arch_name == 'resnet18'
    assert [m.name for m in learn.metrics] == ['error_rate', 'accuracy']
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 3e-3)
        learn.unfreeze()
        learn.fit_one_cycle(1, lr_max=slice(1e-6,1e-4))
    learn.recorder.plot_loss()
    fp16 = breed_learner(dls, 'resnet18', pretrained=False).to_fp16()
    assert any(type(c).__name__ == 'MixedPrecision' for c in fp16.cbs)
    learn = breed_learner(dls, 'resnet18', pretrained=False, loss_func=LabelSmoothingCrossEntropy())  # chapter 7, as the book passes it
    assert type(learn.loss_func).__name__ == 'LabelSmoothingCrossEntropy'

def test_multilabel_as_typed(tmp_path):
    path = toy_multilabel(tmp_path/'shapes', n=48)
    df = pd.read_csv(path/'train.csv')
    def get_x(r): return path/'train'/r['fname']
    def get_y(r): return r['labels'].split(' ')
    def splitter(df):
        train = df.index[~df['is_valid']].tolist()
        valid = df.index[df['is_valid']].tolist()
        return train,valid
    dblock = multilabel_block(splitter=splitter, get_x=get_x, get_y=get_y, item_tfms=RandomResizedCrop(64, min_scale=0.35))
    dls = dblock.dataloaders(df, bs=8, num_workers=0)
    ours = multilabel_block(path/'train', size=64).dataloaders(df, bs=8, num_workers=0)
    assert list(dls.vocab) == list(ours.vocab) and len(dls.valid_ds) == len(ours.valid_ds) == int(df.is_valid.sum())
    learn = multilabel_learner(dls, pretrained=False, metrics=partial(accuracy_multi, thresh=0.2))
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(1, base_lr=3e-3, freeze_epochs=1)
    learn.metrics = partial(accuracy_multi, thresh=0.1)
    with learn.no_bar(): loss,acc = learn.validate()
    with learn.no_bar(): preds,targs = learn.get_preds()
    assert abs(float(accuracy_multi(preds, targs, thresh=0.1, sigmoid=False)) - acc) < 1e-5
    x,y = dls.train.one_batch()
    activs = learn.model(x)
    a,t = activs.as_subclass(torch.Tensor),y.as_subclass(torch.Tensor)  # PyTorch's own loss refuses fastai's two tensor types together
    assert torch.allclose(losses.binary_cross_entropy(activs, y), nn.BCEWithLogitsLoss()(a, t), atol=1e-6)
    assert torch.allclose(losses.binary_cross_entropy(activs, y, reduction='none'), F.binary_cross_entropy_with_logits(a, t, reduction='none'), atol=1e-6)
    assert labels_of(df.iloc[0]) == df.labels[0].split()

def test_regression_as_typed(tmp_path):
    path = toy_markers(tmp_path/'markers', n=60)
    biwi = point_block(get_y=lambda r: tensor([[r['x'], r['y']]]).float(), splitter=ColSplitter('is_valid'),
                       batch_tfms=aug_transforms(size=(48,64)) + [Normalize.from_stats(*imagenet_stats)])
    dls = biwi.dataloaders(path, bs=8, num_workers=0)
    xb,yb = dls.valid.one_batch()  # no augmentation: every point inside the picture
    assert xb.shape[-2:] == (48,64) and yb.shape == (8,1,2) and yb.abs().max() <= 1
    dls.show_batch(max_n=9, figsize=(8,6))
    learn = point_learner(dls, pretrained=False, y_range=(-1,1))
    assert learn.loss_func.func.__class__.__name__ == 'MSELoss'
    with learn.no_bar(): lr = learn.lr_find(num_it=10, show_plot=False).valley
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(1, lr)
    assert len(show_points(learn, ds_idx=1, nrows=3, figsize=(6,8))) == 6
    with learn.no_bar(): learn.show_results(ds_idx=1, nrows=3, figsize=(6,8))
