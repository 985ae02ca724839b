"The data doctor's cases: every kind of bad image, bad name and bad folder, with fixtures made in tmp_path"
import json, subprocess, sys, unicodedata, zlib
from pathlib import Path
import numpy as np
import pytest, torch
from PIL import Image
from conftest import cli
from namethatdog.images import read_image, check_image, image_files, BACKGROUND
from namethatdog.data import PetImage
from namethatdog.data import TOY_BREEDS, toy_pets, pets_dls, hash_splitter, pet_label, all_valid
from namethatdog.doctor import scan, usable_files, DataProblemsError
from namethatdog.modelfile import BreedModel
import namethatdog.predict  # adds BreedModel.test_dl and predict

def photo(path, size=(64, 48), color=(120, 80, 40), mode='RGB', **kw):
    "Save a small noisy photo at `path` (deterministic for a given name) and return the path"
    rng = np.random.default_rng(zlib.crc32(Path(path).name.encode()))
    a = np.clip(np.array(color) + rng.normal(0, 20, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(a).convert(mode).save(path, **kw)
    return Path(path)

def problems(report):
    "{file name: (kind, reason)} of a `DoctorReport`"
    return {Path(p.path).name: (p.kind, p.reason) for p in report.problems}

def no_traceback(r): return 'Traceback' not in r.stderr and 'Traceback' not in r.stdout

@pytest.fixture
def pets(tmp_path):
    "Three breeds of four good photos each"
    d = tmp_path/'pets'; d.mkdir()
    for b, c in (('Bengal', (200, 160, 80)), ('pug', (90, 60, 40)), ('samoyed', (240, 240, 240))):
        for i in range(1, 5): photo(d/f'{b}_{i}.jpg', color=c)
    return d

# --- unreadable files -------------------------------------------------------------------------------

def test_truncated_empty_and_html_are_reported_by_name(pets):
    big = photo(pets/'pug_5.jpg', size=(300, 200))
    (pets/'pug_6.jpg').write_bytes(big.read_bytes()[:len(big.read_bytes())//2])
    (pets/'pug_7.jpg').write_bytes(b'')
    (pets/'pug_8.jpg').write_text('<!DOCTYPE html><html><body>404 Not Found</body></html>')
    p = problems(scan(pets))
    assert p['pug_6.jpg'][0] == 'image' and 'truncated' in p['pug_6.jpg'][1]
    assert 'empty file' in p['pug_7.jpg'][1]
    assert 'text or HTML' in p['pug_8.jpg'][1]
    assert len(p) == 3

def test_gif_and_png_named_jpg_are_read_by_content(pets):
    photo(pets/'pug_5.jpg', format='GIF')
    photo(pets/'pug_6.jpg', mode='RGBA', format='PNG')
    assert check_image(pets/'pug_5.jpg') is None and check_image(pets/'pug_6.jpg') is None
    assert read_image(pets/'pug_5.jpg').mode == 'RGB' and read_image(pets/'pug_6.jpg').mode == 'RGB'
    r = scan(pets)
    assert r.ok and len(r.good) == 14

def test_non_images_are_ignored_and_counted(pets):
    (pets/'Bengal_1.mat').write_bytes(b'MATLAB 5.0 MAT-file')
    (pets/'notes.txt').write_text('hello')
    (pets/'.DS_Store').write_bytes(b'\0\0')
    r = scan(pets)
    assert r.ok and len(r.good) == 12 and sum(r.ignored.values()) == 3
    assert 'ignored' in r.summary()

# --- pixels: one reader for train and predict --------------------------------------------------------

def model_for(files, size=64):
    "A `BreedModel` that only preprocesses (identity network), to read what prediction feeds the network"
    meta = dict(presize=[size, size], size=[size, size], min_scale=0.75, normalize=None, vocab=['x'])
    return BreedModel(torch.nn.Identity(), meta)

def train_and_predict_batches(files, size=64):
    "The same files as training (validation transforms) and as prediction see them, as float batches"
    dls = pets_dls(list(files), bs=len(files), num_workers=0, presize=size, size=size, splitter=all_valid)
    x_train = dls.valid.one_batch()[0]
    x_pred = next(iter(model_for(files, size).test_dl(files, bs=len(files))))[0]
    return x_train.as_subclass(torch.Tensor), x_pred.as_subclass(torch.Tensor)

def test_transparency_is_composited_identically_in_train_and_predict(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8); rgba[..., 0] = 255; rgba[16:48, 16:48, 3] = 255  # red square on transparent
    Image.fromarray(rgba, 'RGBA').save(tmp_path/'Bengal_1.jpg', format='PNG')
    pal = Image.new('P', (64, 64), 0); pal.putpalette([0, 0, 255] * 128 + [0, 255, 0] * 128)
    pal.paste(200, (16, 16, 48, 48)); pal.save(tmp_path/'pug_1.jpg', format='PNG', transparency=0)
    files = [tmp_path/'Bengal_1.jpg', tmp_path/'pug_1.jpg']  # PNGs named .jpg, as in Oxford-IIIT Pet
    for f in files:
        im = read_image(f)
        assert im.getpixel((0, 0)) == BACKGROUND and im.getpixel((32, 32)) != BACKGROUND
        assert PetImage.create(f).getpixel((0, 0)) == BACKGROUND
    xt, xp = train_and_predict_batches(files)
    assert torch.allclose(xt, xp)
    assert torch.allclose(xt[:, :, 0, 0], torch.tensor(BACKGROUND) / 255)

def test_16bit_png_mid_grey_stays_mid_grey(tmp_path):
    Image.fromarray(np.full((48, 48), 32768, np.uint16)).save(tmp_path/'pug_1.png')
    assert read_image(tmp_path/'pug_1.png').getpixel((5, 5)) == (128, 128, 128)

def test_cmyk_and_greyscale_jpegs_become_rgb(tmp_path):
    Image.new('CMYK', (48, 48), (0, 255, 255, 0)).save(tmp_path/'pug_1.jpg')
    Image.new('L', (48, 48), 100).save(tmp_path/'pug_2.jpg')
    r, g, b = read_image(tmp_path/'pug_1.jpg').getpixel((5, 5))
    assert read_image(tmp_path/'pug_1.jpg').mode == 'RGB' and r > 200 and g < 60 and b < 60
    assert read_image(tmp_path/'pug_2.jpg').getpixel((5, 5)) in {(100, 100, 100), (99, 99, 99), (101, 101, 101)}

def test_exif_orientation_is_applied_in_train_and_predict(tmp_path):
    a = np.zeros((40, 60, 3), np.uint8); a[:, :30] = 255  # left half white: after a 90° turn, the top half is white
    ex = Image.new('RGB', (1, 1)).getexif(); ex[0x0112] = 6
    Image.fromarray(a).save(tmp_path/'pug_1.jpg', exif=ex, quality=95)
    assert read_image(tmp_path/'pug_1.jpg').size == (40, 60)
    ds = pets_dls([tmp_path/'pug_1.jpg'], bs=1, num_workers=0, presize=48, size=48, splitter=all_valid).valid_ds
    assert ds[0][0].size == (40, 60)
    assert model_for([tmp_path/'pug_1.jpg']).test_dl([tmp_path/'pug_1.jpg']).dataset[0][0].size == (40, 60)
    xt, xp = train_and_predict_batches([tmp_path/'pug_1.jpg'], size=48)
    assert torch.allclose(xt, xp)

def test_decompression_bomb_is_rejected_before_decoding(tmp_path):
    Image.new('1', (20000, 20000)).save(tmp_path/'pug_1.png')
    assert (tmp_path/'pug_1.png').stat().st_size < 500_000
    why = check_image(tmp_path/'pug_1.png')
    assert '400,000,000 pixels' in why and '89,478,485' in why

def test_tiny_image_is_reported(pets):
    Image.new('RGB', (1, 1)).save(pets/'pug_9.jpg')
    assert 'minimum side' in problems(scan(pets))['pug_9.jpg'][1]

# --- names and labels -------------------------------------------------------------------------------

def test_every_bad_name_is_listed_and_raised_under_python_O(pets):
    for n in ('holiday.jpg', 'pug.jpg', 'scan-3.jpg'): photo(pets/n)
    p = problems(scan(pets))
    assert {'holiday.jpg', 'pug.jpg', 'scan-3.jpg'} <= set(p) and all(k == 'name' for k, _ in p.values())
    code = f"from namethatdog.doctor import usable_files; usable_files({str(pets)!r})"
    r = subprocess.run([sys.executable, '-O', '-c', code], capture_output=True, text=True)
    assert r.returncode != 0 and 'DataProblemsError' in r.stderr
    for n in ('holiday.jpg', 'pug.jpg', 'scan-3.jpg'): assert n in r.stderr

def test_camera_names_are_flagged_not_classes(pets):
    photo(pets/'IMG_2034.jpg'); photo(pets/'DSC_0001.jpg'); photo(pets/'PXL_20240101_1234.jpg')
    r = scan(pets)
    assert {k for k, _ in problems(r).values()} == {'name'} and len(r.problems) == 3
    assert set(r.counts) == {'Bengal', 'pug', 'samoyed'}

def test_case_variants_are_flagged_and_unicode_variants_merged(pets):
    photo(pets/'bengal_9.jpg')
    nfc = 'Bichón frisé'
    for i in (1, 2): photo(pets/f'{nfc}_{i}.jpg')
    for i in (3, 4): photo(pets/unicodedata.normalize('NFD', f'{nfc}_{i}.jpg'))
    r = scan(pets)
    assert set(problems(r)) == {'bengal_9.jpg'} and problems(r)['bengal_9.jpg'][0] == 'case'
    assert r.counts[nfc] == 4 and len(r.counts) == 4

def test_a_breed_with_one_image_is_reported_before_splitting(pets):
    photo(pets/'dalmatian_1.jpg')
    p = problems(scan(pets))
    assert p['dalmatian_1.jpg'][0] == 'few' and "only 1 usable image of breed 'dalmatian'" in p['dalmatian_1.jpg'][1]

def test_every_breed_is_in_the_training_split(tmp_path):
    for b in 'abcdefghij':
        for i in (1, 2): photo(tmp_path/f'breed{b}_{i}.jpg')
    for seed in range(5):
        dls = pets_dls(tmp_path, bs=2, num_workers=0, presize=32, size=32, valid_pct=0.5, seed=seed)
        assert {pet_label(f) for f in dls.train_ds.items} == {f'breed{b}' for b in 'abcdefghij'}

def test_split_ignores_listing_order_and_new_photos_stay_out_of_the_way():
    files = [f'{b}_{i}.jpg' for b in ('pug', 'Bengal', 'beagle') for i in range(1, 60)]
    split = hash_splitter(0.2, 42, label_func=pet_label)
    valid = {files[i] for i in split(files)[1]}
    rng = np.random.default_rng(0)
    for _ in range(3):
        shuffled = list(rng.permutation(files))
        assert {shuffled[i] for i in split(shuffled)[1]} == valid
    for new in ('pug_100.jpg', 'Bengal_100.jpg', 'newfoundland_1.jpg'):
        more = files + [new]
        assert valid <= {more[i] for i in split(more)[1]}

# --- folders ----------------------------------------------------------------------------------------

def test_missing_and_empty_folders_are_clear_errors(tmp_path):
    r = cli('doctor', tmp_path/'nowhere')
    assert r.returncode != 0 and 'nowhere' in r.stderr and no_traceback(r)
    (tmp_path/'empty').mkdir()
    r = cli('doctor', tmp_path/'empty')
    assert r.returncode != 0 and 'no image files' in r.stderr and no_traceback(r)

def test_symlink_loops_and_broken_links(pets):
    (pets/'sub').mkdir(); photo(pets/'sub'/'pug_7.jpg')
    (pets/'sub'/'up').symlink_to(pets, target_is_directory=True)     # a loop
    (pets/'again').symlink_to(pets/'sub', target_is_directory=True)  # the same folder twice
    (pets/'pug_8.jpg').symlink_to(pets/'deleted.jpg')                # broken
    files, broken, _ = image_files(pets)
    assert len(files) == len({f.resolve() for f in files}) == 13
    r = scan(pets)
    assert problems(r) == {'pug_8.jpg': ('link', 'broken link: the file it points to does not exist')}
    dls = pets_dls(usable_files(pets, skip_bad=True, log=lambda s: None), bs=2, num_workers=0, presize=32, size=32, valid_pct=0.5)
    train = {Path(f).resolve() for f in dls.train_ds.items}
    assert not train & {Path(f).resolve() for f in dls.valid_ds.items}

# --- end to end -------------------------------------------------------------------------------------

TRAIN_FAST = ('--no-pretrained', '--arch', 'resnet18', '--epochs', '1', '--size', '32', '--presize', '48', '--bs', '8',
              '--num-workers', '0', '--lr-find-its', '5')

def test_non_ascii_and_spaces_end_to_end(tmp_path):
    d = tmp_path/'fotos mías'; d.mkdir()
    for b, c in (('Bichón frisé', (240, 230, 220)), ('great dane', (60, 50, 40))):
        for i in range(1, 7): photo(d/f'{b}_{i}.jpg', color=c)
    r = cli('train', d, *TRAIN_FAST, '--out', tmp_path/'modèle 1')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path/'modèle 1'/'metrics.json').read_text(encoding='utf-8'))
    assert m['vocab'] == ['Bichón frisé', 'great dane']
    r = cli('predict', tmp_path/'modèle 1'/'model', d, '--json')
    assert r.returncode == 0, r.stderr[-3000:]
    preds = [json.loads(l) for l in r.stdout.splitlines() if l.startswith('{')]
    assert len(preds) == 12 and {p['top'][0]['label'] for p in preds} <= set(m['vocab'])
    assert any('Bichón frisé_1.jpg' in p['path'] for p in preds)

@pytest.fixture
def mixed(tmp_path):
    "Toy pets with one file of every fault beside the good photos; returns (folder, names of the bad files)"
    d = toy_pets(tmp_path/'mixed', n=10)
    good = (d/'pug_1.jpg').read_bytes()
    (d/'pug_11.jpg').write_bytes(good[:len(good)//3])
    (d/'beagle_11.jpg').write_bytes(b'')
    (d/'Bengal_11.jpg').write_text('<html><body>moved</body></html>')
    (d/'IMG_2034.jpg').write_bytes(good)
    (d/'holiday photo.jpg').write_bytes(good)
    (d/'abyssinian_11.jpg').write_bytes(good)
    (d/'dalmatian_1.jpg').write_bytes(good)
    Image.new('RGB', (1, 1)).save(d/'samoyed_11.jpg')
    Image.new('1', (20000, 20000)).save(d/'Siamese_11.jpg', format='PNG')
    (d/'samoyed_12.jpg').symlink_to(d/'gone.jpg')
    (d/'Bengal_12.mat').write_bytes(b'MATLAB')
    bad = {'pug_11.jpg', 'beagle_11.jpg', 'Bengal_11.jpg', 'IMG_2034.jpg', 'holiday photo.jpg', 'abyssinian_11.jpg',
           'dalmatian_1.jpg', 'samoyed_11.jpg', 'Siamese_11.jpg', 'samoyed_12.jpg'}
    return d, bad

def test_doctor_names_every_faulty_file(mixed):
    d, bad = mixed
    r = cli('doctor', d, '--json')
    assert r.returncode == 1, r.stderr[-2000:]
    rep = json.loads(r.stdout)
    assert {Path(p['path']).name for p in rep['problems']} == bad
    assert rep['n_good'] == 60 and sum(rep['ignored'].values()) == 1
    r = cli('doctor', d)
    assert r.returncode == 1 and all(n in r.stdout for n in bad) and '10 problems' in r.stdout

def test_train_refuses_before_any_epoch_then_skips_bad(mixed, tmp_path):
    d, bad = mixed
    r = cli('train', d, *TRAIN_FAST, '--out', tmp_path/'refused')
    assert r.returncode != 0 and no_traceback(r)
    assert all(n in r.stderr for n in bad) and '--skip-bad' in r.stderr
    assert 'epoch' not in r.stdout and not (tmp_path/'refused'/'model').exists()
    r = cli('train', d, *TRAIN_FAST, '--skip-bad', '--out', tmp_path/'t')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'skipping 10 bad files' in r.stdout
    m = json.loads((tmp_path/'t'/'metrics.json').read_text())
    assert m['vocab'] == sorted(TOY_BREEDS)
    r = cli('predict', tmp_path/'t'/'model', d, '--json')
    assert r.returncode == 2
    preds = [json.loads(l) for l in r.stdout.splitlines() if l.startswith('{')]
    # every readable image gets a result, names that are not breeds included; each unreadable file one error line
    unreadable = {'pug_11.jpg', 'beagle_11.jpg', 'Bengal_11.jpg', 'samoyed_11.jpg', 'Siamese_11.jpg', 'samoyed_12.jpg'}
    assert len(preds) == 60 + len(bad - unreadable)
    errs = [l for l in r.stderr.splitlines() if l.startswith('error: ')]
    assert len(errs) == len(unreadable) and all(any(n in l for l in errs) for n in unreadable)
    assert 'partial' in r.stderr and no_traceback(r)
