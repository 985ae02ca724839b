"""The docs site: built by `tools/build_docs.py` from the notebooks, then read as files and opened in headless Chromium.

The browser tests need Debian's `chromium` (or another Chromium on the PATH); without it they are skipped, unless
NAMETHATDOG_REQUIRE_BROWSER=1 (as in CI), where a missing browser fails. The home page's screenshot is kept in
`artifacts/docs-home.png` (or $NAMETHATDOG_ARTIFACTS)."""
import functools, importlib, inspect, json, os, re, shutil, subprocess, sys, threading
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urljoin, urldefrag, urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
from namethatdog.serve import chromium, CHROMIUM_ARGS  # the headless Chromium the library's screenshots use
CHROMIUM = chromium()
REQUIRE_BROWSER = os.environ.get('NAMETHATDOG_REQUIRE_BROWSER') == '1'
ARTIFACTS = Path(os.environ.get('NAMETHATDOG_ARTIFACTS', ROOT/'artifacts'))

class Tags(HTMLParser):
    "Every tag's attributes, and the text of code blocks"
    def __init__(self, html):
        super().__init__(); self.tags,self.code,self._in = [],[],0
        self.feed(html)
    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == 'pre': self._in += 1; self.code.append('')
    def handle_endtag(self, tag):
        if tag == 'pre': self._in -= 1
    def handle_data(self, data):
        if self._in: self.code[-1] += data
    def ids(self): return {a['id'] for _,a in self.tags if a.get('id')}

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site, built once by the same script as `make docs`, into a temporary folder"
    out = tmp_path_factory.mktemp('site')
    r = subprocess.run([sys.executable, 'tools/build_docs.py', '--out', str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"docs build failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return out

@pytest.fixture(scope='module')
def modidx():
    from namethatdog._modidx import d
    return d['syms']

def page_of(syms:dict)->str:
    "A module's page in the site, as nbdev's doclinks name it: `data/data.html`"
    return next(iter(syms.values()))[0].split('#')[0]

def html_pages(site): return [p for p in sorted(site.rglob('*.html')) if 'search' not in p.relative_to(site).parts]

def test_one_page_per_notebook(site):
    nbs = [p for p in (ROOT/'nbs').rglob('*.ipynb') if not any(s.startswith(('.', '_')) for s in p.relative_to(ROOT/'nbs').parts)]
    assert len(nbs) >= 20
    for nb in nbs:
        # nbdev names a module's page after the module, the others after the notebook without its number, in the notebook's folder
        exp = re.search(r'#\|\s*default_exp\s+(\S+)', '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells']))
        stem = exp.group(1) if exp else re.sub(r'^\d+_', '', nb.stem)
        page = (nb.parent.relative_to(ROOT/'nbs')/f'{stem}.html').as_posix()
        assert (site/page).exists(), f'{nb.name}: no page {page}'

def test_every_exported_name_documented(site, modidx):
    "Each module's page shows every function and class of its `__all__` with its signature, and every constant's definition"
    missing = []
    for mod in modidx:
        m = importlib.import_module(mod)
        page = site/page_of(modidx[mod])
        tags = Tags(page.read_text()); ids,code = tags.ids(),'\n'.join(tags.code)
        for name in m.__all__:
            obj = getattr(m, name)
            if f'{mod}.{name}' in modidx[mod]:  # a function or class: a show_doc heading and its signature
                anchor = modidx[mod][f'{mod}.{name}'][0].split('#')[1]
                kind = 'class' if inspect.isclass(obj) else 'def'
                if anchor not in ids: missing.append(f'{page.name}: no heading #{anchor}')
                elif not re.search(rf'\b(def|class) {re.escape(name)}\b|^{re.escape(name)}\(', code, re.M): missing.append(f'{page.name}: no signature of {name} ({kind})')
            elif not re.search(rf'^{re.escape(name)}\s*=', code, re.M): missing.append(f'{page.name}: constant {name} not shown')
    assert not missing, '\n'.join(missing)

def test_links_between_pages(site):
    "Every link and image of every page points at a file, and at an anchor, that exist"
    pages = {p.relative_to(site).as_posix(): Tags(p.read_text()) for p in html_pages(site)}
    ids = {n: t.ids() for n,t in pages.items()}
    bad = []
    for name,tags in pages.items():
        if name == '404.html': continue  # its links are absolute, for any missing path of the published site
        for t,a in tags.tags:
            ref = a.get('href') if t in ('a', 'link') else a.get('src') if t in ('img', 'script') else None
            if not ref or urlparse(ref).scheme or ref.startswith('//') or ref.startswith('mailto:'): continue
            target,frag = urldefrag(urljoin(name, ref))
            if not target: target = name
            if not (site/target).exists(): bad.append(f'{name}: {ref} (no file)')
            elif frag and target.endswith('.html') and frag not in ids.get(target, set()): bad.append(f'{name}: {ref} (no anchor)')
    assert not bad, '\n'.join(bad[:30])

def test_lists_render_as_lists(site):
    "A Markdown list right after a paragraph's line (as the notebooks write them) is a list on the page, not a run-on paragraph"
    sys.path.insert(0, str(ROOT/'tools'))
    from build_docs import blank_before_lists
    assert blank_before_lists('Text:\n- a\n- b\n  more\n- c') == 'Text:\n\n- a\n- b\n  more\n- c'
    assert blank_before_lists('```sh\nx\n- not a list\n```') == '```sh\nx\n- not a list\n```'
    runon = re.compile(r'<p>(?:(?!</p>).)*?\n(?:[-*+]|\d+\.) ', re.S)
    bad = [p.relative_to(site).as_posix() for p in html_pages(site) if runon.search(re.sub(r'<(pre|code)\b.*?</\1>', '', p.read_text(), flags=re.S))]
    assert not bad, f'pages with a list run into a paragraph: {bad}'

def test_cli_reference(site):
    text = (site/'apps'/'cli.html').read_text()
    from namethatdog.cli import VERBS
    for v in VERBS: assert f'usage: namethatdog {v}' in text, v

def test_plots_are_images(site):
    "The plots the notebooks show are image files the pages link to"
    imgs = [a['src'] for p in html_pages(site) for t,a in Tags(p.read_text()).tags if t == 'img' and a.get('src', '').endswith(('.png', '.jpg'))]
    assert len(imgs) >= 15, imgs
    for name in ('walkthroughs/chapter5.html', 'interpretation/interpret.html', 'measurements/performance.html', 'walkthroughs/chapter6.html'):
        assert any(t == 'img' for t,_ in Tags((site/name).read_text()).tags), f'{name} shows no plot'

def test_search_index(site):
    idx = json.loads((site/'search'/'search_index.json').read_text())
    locs = {d['location'].split('#')[0] for d in idx['docs']}
    assert {'index.html', 'engines/modelfile.html', 'engines/predict.html', 'apps/runs.html', 'data/settings.html', 'apps/cli.html',
            'walkthroughs/chapter5.html'} <= locs
    assert any(d['location'] == 'engines/modelfile.html#breedmodel.load' for d in idx['docs'])

# ---- in a real browser

@pytest.fixture(scope='module')
def browser_page(site):
    if not CHROMIUM:
        if REQUIRE_BROWSER: pytest.fail('NAMETHATDOG_REQUIRE_BROWSER=1 but no chromium on the PATH (apt-get install chromium)')
        pytest.skip('no chromium on the PATH (Debian: apt-get install chromium); CI installs it')
    from playwright.sync_api import sync_playwright
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport=dict(width=1280, height=900))
            page.base = f'http://127.0.0.1:{srv.server_port}/'
            yield page
            b.close()
    finally: srv.shutdown()

def _open(page, name):
    "Go to a page of the site: its HTTP status, and every request on the way that failed or answered an error"
    failed = []
    on_resp = lambda r: failed.append(f'{r.status} {r.url}') if r.status >= 400 else None
    on_fail = lambda r: failed.append(f'failed {r.url}')
    page.on('response', on_resp); page.on('requestfailed', on_fail)
    try: resp = page.goto(page.base + name); page.wait_for_load_state('networkidle')
    finally: page.remove_listener('response', on_resp); page.remove_listener('requestfailed', on_fail)
    return resp.status, failed

def test_home_renders(browser_page, site):
    page = browser_page
    status,failed = _open(page, 'index.html')
    assert status == 200 and not failed, failed
    assert page.title().startswith('namethatdog')
    assert page.locator('h1').first.inner_text().rstrip('¶').strip() == 'namethatdog'
    assert page.locator('h2', has_text='Quick start').is_visible()
    nav = page.locator('nav.md-nav--primary').inner_text()
    for t in ('Chapter 5 with namethatdog', 'modelfile', 'predict', 'runs', 'cli', 'Performance'): assert t in nav, t
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS/'docs-home.png'))
    assert (ARTIFACTS/'docs-home.png').stat().st_size > 10_000

def test_every_page_links_and_images(browser_page, site):
    "Each page loads with no failed request; every image has pixels; every same-site link answers 200"
    page,problems,links = browser_page,[],set()
    for p in html_pages(site):
        if p.name == '404.html': continue
        name = p.relative_to(site).as_posix()
        status,failed = _open(page, name)
        if status != 200: problems.append(f'{name}: HTTP {status}')
        problems += [f'{name}: {f}' for f in failed]
        broken = page.evaluate("""async () => { const imgs = [...document.images];
            for (const i of imgs) { i.loading = 'eager'; if (!i.complete) await i.decode().catch(() => {}); }
            return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src); }""")
        problems += [f'{name}: image did not load {s}' for s in broken]
        links |= set(page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)"))
    internal = {urldefrag(l)[0] for l in links if l.startswith(page.base)}
    assert len(internal) >= 20
    for l in sorted(internal):
        r = page.request.get(l)
        if r.status != 200: problems.append(f'link {l}: HTTP {r.status}')
    assert not problems, '\n'.join(problems[:30])

def test_api_pages_show_signatures(browser_page, modidx):
    page = browser_page
    for mod,syms in modidx.items():
        name = page_of(syms)
        page.goto(page.base + name)
        code = '\n'.join(page.locator('pre code').all_inner_texts())
        for sym in importlib.import_module(mod).__all__:
            if f'{mod}.{sym}' in syms: assert re.search(rf'\b(def|class) {sym}\b', code), f'{name}: no signature of {sym}'

def test_search_and_navigation(browser_page):
    page = browser_page
    page.goto(page.base + 'index.html'); page.wait_for_load_state('networkidle')
    box = page.locator('input.md-search__input')
    box.click(); box.press_sequentially('safetensors', delay=30)  # typed: the theme searches on key events
    result = page.locator('.md-search-result__item').first
    result.wait_for(timeout=15_000)
    assert 'safetensors' in page.locator('.md-search-result').inner_text().lower()
    page.locator('.md-search-result__item a').first.click()  # a result opens its page
    page.wait_for_load_state('networkidle')
    assert urlparse(page.url).path.endswith('.html') and 'safetensors' in page.locator('article').inner_text()
    page.goto(page.base + 'index.html'); page.wait_for_load_state('networkidle')
    page.locator('nav.md-nav--primary a', has_text='Chapter 5 with namethatdog').first.click()
    page.wait_for_load_state('networkidle')
    assert page.url.endswith('chapter5.html')
    assert page.locator('h1').first.inner_text().rstrip('¶').strip() == 'Chapter 5 with namethatdog'

def test_walkthrough_plots_in_the_browser(browser_page, site):
    "Every plot of both walkthroughs loads in Chromium; each is kept as a screenshot in `artifacts/walkthroughs/`"
    page,out = browser_page,ARTIFACTS/'walkthroughs'
    out.mkdir(parents=True, exist_ok=True)
    for name in ('walkthroughs/chapter5.html', 'walkthroughs/chapter6.html'):
        status,failed = _open(page, name)
        assert status == 200 and not failed, failed
        imgs = page.locator('article img')
        assert imgs.count() >= 3, f'{name}: {imgs.count()} plots'
        for i in range(imgs.count()):
            img = imgs.nth(i)
            img.scroll_into_view_if_needed()
            assert img.evaluate('i => i.complete && i.naturalWidth > 0'), f'{name}: plot {i+1} did not load'
            img.screenshot(path=str(out/f'{Path(name).stem}-plot{i+1:02d}.png'))
    assert len(list(out.glob('chapter5-plot*.png'))) >= 3
