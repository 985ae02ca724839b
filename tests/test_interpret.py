"One inference pass, and the same numbers as fastai's ClassificationInterpretation"
import numpy as np, sklearn.metrics as skm
from unittest.mock import patch
from fastai.vision.all import Learner, ClassificationInterpretation
from namethatdog.interpret import BreedInterpretation

def test_one_pass_and_agrees_with_fastai(small_learner):
    learn = small_learner
    orig, calls = Learner.get_preds, []
    def counting(self, *a, **k): calls.append(1); return orig(self, *a, **k)
    with patch.object(Learner, 'get_preds', counting):
        interp = BreedInterpretation.from_learner(learn)
        cm, mc, tl, rep = interp.confusion_matrix(), interp.most_confused(), interp.losses_table(), interp.classification_report()
        assert len(calls) == 1
        ci = ClassificationInterpretation.from_learner(learn)
        np.testing.assert_array_equal(cm, ci.confusion_matrix())
        assert mc == [(a, b, int(c)) for a, b, c in ci.most_confused()]
        fl, fi = ci.top_losses()
        np.testing.assert_allclose(tl.loss.values, fl.numpy(), atol=1e-5)
        assert len(calls) > 3  # fastai ran inference again for each call
    items = [str(o) for o in ci.dl.items]
    assert tl.path.tolist()[0] in items
    sk = skm.classification_report(interp.targs, interp.preds, labels=range(len(interp.vocab)), target_names=interp.vocab,
                                   output_dict=True, zero_division=0)
    for r in rep.itertuples():
        assert abs(r.precision - sk[r.breed]['precision']) < 1e-9 and abs(r.recall - sk[r.breed]['recall']) < 1e-9
        assert abs(r.f1 - sk[r.breed]['f1-score']) < 1e-9 and r.support == sk[r.breed]['support']
    loss, err = learn.validate()
    assert abs(interp.valid_loss - loss) < 1e-4 and abs(interp.error_rate - err) < 1e-6

def test_top_losses_rows_are_consistent(small_learner):
    interp = BreedInterpretation.from_learner(small_learner)
    tl = interp.losses_table(5)
    assert len(tl) == 5 and tl.loss.is_monotonic_decreasing
    for r in tl.itertuples():
        assert r.path.endswith('.jpg') and r.actual == r.path.split('/')[-1].rsplit('_', 1)[0]
        assert 0 < r.probability <= 1
