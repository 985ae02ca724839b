"Decode-once training data on awkward photos: the cache reads them as the doctor does, and fails early and by name"
import numpy as np, pytest, torch
from PIL import Image
from namethatdog.images import ImageError, read_image_tensor
from namethatdog.presize import PresizeCache, presize_tensor
from namethatdog.data import pets_dls

def awkward(folder):
    "Photos of two breeds in the formats that trip readers up: CMYK, 16-bit, transparent, sideways, greyscale, tiny"
    rng = np.random.default_rng(0)
    px = lambda w, h: Image.fromarray(rng.integers(0, 256, (h//10, w//10, 3), dtype=np.uint8)).resize((w, h))
    folder.mkdir()
    for b in ('Bengal', 'pug'):
        px(300, 200).convert('CMYK').save(folder/f'{b}_1.jpg')
        Image.fromarray((rng.random((120, 90))*65535).astype(np.uint16)).save(folder/f'{b}_2.png')
        rgba = px(160, 120).convert('RGBA'); rgba.putalpha(0); rgba.save(folder/f'{b}_3.png')
        im = px(200, 120); ex = im.getexif(); ex[0x0112] = 6; im.save(folder/f'{b}_4.jpg', exif=ex)
        px(400, 300).convert('L').save(folder/f'{b}_5.jpg')
        px(40, 33).save(folder/f'{b}_6.jpg')
        px(500, 375).save(folder/f'{b}_7.webp')
    return sorted(folder.iterdir())

@pytest.mark.parametrize('where', ['memory', 'disk'])
def test_cache_reads_like_the_doctor(tmp_path, where):
    files = awkward(tmp_path/'photos')
    c = PresizeCache(files, 64, where=where, cache_dir=tmp_path/'cache')
    for f in files:
        x = c.load(f)
        assert x.dtype == torch.uint8 and min(x.shape[1:]) == 64, f
        assert torch.equal(x, presize_tensor(read_image_tensor(f), 64)), f
    assert c.load(tmp_path/'photos'/'Bengal_4.jpg').shape[1:] == (107, 64)  # EXIF orientation: portrait
    assert (c.load(tmp_path/'photos'/'Bengal_3.png') == 255).all()  # fully transparent: the white background

def test_bad_photo_fails_at_build_by_name_and_leaves_no_entry(tmp_path):
    files = awkward(tmp_path/'photos')
    cut = tmp_path/'photos'/'pug_9.jpg'
    cut.write_bytes(files[0].read_bytes()[:400])
    with pytest.raises(ImageError, match='pug_9.jpg'): PresizeCache([*files, cut], 64, where='disk', cache_dir=tmp_path/'cache')
    assert not list((tmp_path/'cache').glob('*.tmp')) and not list((tmp_path/'cache').glob('.*'))

def test_fast_dataloaders_train_on_awkward_photos(tmp_path):
    awkward(tmp_path/'photos')
    dls = pets_dls(tmp_path/'photos', bs=4, presize=64, size=32, num_workers=0, cache=True, fast_aug=True, valid_pct=0.3,
                   pat=r'(.+)_\d+\.\w+$')
    xb, yb = dls.train.one_batch()
    assert xb.shape == (4, 3, 32, 32) and xb.min() >= 0 and xb.max() <= 1
    assert len(dls.train_ds) + len(dls.valid_ds) == 14
