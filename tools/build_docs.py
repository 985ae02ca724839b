"""Build the docs site from the notebooks into `docs/`, offline, with packages from PyPI only.

    python tools/build_docs.py [--out docs]      (or `make docs`, which installs what it needs first)

1. nbdev's own processing (`nbdev-proc-nbs`) writes the notebooks to `_proc/` as Quarto would read them: hidden and
   exported cells dropped, `show_doc` added and run for every exported name, backticked names linked.
2. Each processed notebook becomes one Markdown page (code, its text, tables and plots as images) in the folder the
   notebook is in (`nbs/data/15_data.ipynb` becomes `data/data.html`, as Quarto and nbdev's doclinks name it), and
   `nbs/sidebar.yml`, the sidebar Quarto uses, becomes the navigation.
3. MkDocs with the Material theme renders the pages, with search, in strict mode: a link to a page or an anchor that
   does not exist stops the build.

Where Quarto is installed, `nbdev-docs` renders the same notebooks with `nbs/_quarto.yml` instead."""
import argparse, base64, json, os, re, shutil
from pathlib import Path
from unittest.mock import patch
import yaml

root = Path(__file__).resolve().parent.parent
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*)$')
_IMG = {'image/png': 'png', 'image/jpeg': 'jpg', 'image/svg+xml': 'svg'}

def proc_nbs():
    "nbdev's processing of `nbs/` into `_proc/`, without its attempt to install Quarto (it is not needed for this step)"
    import nbdev.quarto
    shutil.rmtree(root/'_proc', ignore_errors=True)  # nbdev adds to it: a notebook moved or removed must not leave its old page
    with patch.object(nbdev.quarto, '_ensure_quarto', lambda: None): nbdev.quarto.nbdev_proc_nbs.__wrapped__()  # __wrapped__: the function, not its command-line parser
    return root/'_proc'

def pandoc_slug(value, separator='-'):
    "Heading ids as Pandoc (Quarto) makes them, so nbdev's doclinks (`modelfile.html#breedmodel.load`) find their target"
    s = re.sub(r'[^\w\s.-]', '', value.strip().lower())
    return re.sub(r'\s+', separator, s).lstrip('0123456789.-')

def _frontmatter(nb):
    "The YAML front matter nbdev writes into a raw cell, and the remaining cells"
    cells = nb['cells']
    if cells and cells[0]['cell_type'] == 'raw':
        return yaml.safe_load(''.join(cells[0]['source']).strip().strip('-')) or {}, cells[1:]
    return {}, cells

def _directives(src): return {m.group(1): m.group(2).strip() for l in src.splitlines() if (m := _DIRECTIVE.match(l))}

def _fence(text, lang=''):
    "`text` in a code fence longer than any run of backticks inside it"
    n = max([3] + [len(m) + 1 for m in re.findall(r'`{3,}', text)])
    return f"{'`'*n}{lang}\n{text.rstrip()}\n{'`'*n}"

def _text(x): return ''.join(x) if isinstance(x, list) else x

_ITEM = re.compile(r'\s*([-*+]|\d+\.)\s')

def blank_before_lists(md:str)->str:
    "A blank line before a list that follows a paragraph's line: Pandoc (Quarto) starts a list there, Python-Markdown only after a blank line"
    out,fenced,prev = [],False,''
    for l in md.split('\n'):
        if l.lstrip().startswith(('```', '~~~')): fenced = not fenced
        elif not fenced and _ITEM.match(l) and prev.strip() and not _ITEM.match(prev) and not prev.startswith((' ', '\t', '|', '>')): out.append('')
        out.append(l); prev = l
    return '\n'.join(out)

def _console(text:str)->str:
    "Stream text as Jupyter shows it: on each line only what follows the last carriage return (progress bars redrawn)"
    return re.sub(r'^.*\r+', '', text, flags=re.M).rstrip()

def page_path(nb_path:Path, proc:Path)->str:
    "Where a processed notebook's page goes in the site, without suffix: its folder and its output file (`data/data`)"
    stem = Path(_frontmatter(json.loads(Path(nb_path).read_text()))[0].get('output-file', Path(nb_path).stem + '.html')).stem
    return (Path(nb_path).parent.relative_to(proc)/stem).as_posix()

class Page:
    "One processed notebook as a Markdown page; its images go to `<stem>_files/` beside it"
    def __init__(self, nb_path, pages, proc):
        self.nb = json.loads(Path(nb_path).read_text())
        self.meta,self.cells = _frontmatter(self.nb)
        self.path = page_path(nb_path, proc)
        self.folder,self.stem = os.path.dirname(self.path),os.path.basename(self.path)
        self.pages,self.images = pages,{}  # pages: notebook name -> page path, to rewrite links between pages

    def rel(self, path:str)->str: return os.path.relpath(path, self.folder or '.')

    def link(self, md:str, site_url:str)->str:
        "Links to this site's pages made relative (`../data/files.md#save_json`), so MkDocs checks them and they work offline"
        md = re.sub(re.escape(site_url.rstrip('/')) + r'/((?:[\w-]+/)*[\w-]+)\.html', lambda m: self.rel(m.group(1) + '.md'), md)
        return re.sub(r'\]\((?:\.{0,2}/)*(?:[\w-]+/)*([\w-]+)\.ipynb', lambda m: f"]({self.rel(self.pages.get(m.group(1), m.group(1)) + '.md')}", md)

    def output(self, o, n:int)->str:
        "Markdown for one output: Markdown as is, images as files, HTML as a raw block, text fenced"
        if o['output_type'] == 'stream':
            text = _console(_text(o['text']))
            return f'<div class="nb-output nb-{o["name"]}" markdown>\n\n{_fence(text)}\n\n</div>' if text.strip() else ''
        if o['output_type'] == 'error': return _fence('\n'.join(o.get('traceback', [])))
        d = o.get('data', {})
        for mime,ext in _IMG.items():
            if mime in d:
                name = f'{self.stem}_files/out-{n}.{ext}'
                self.images[name] = _text(d[mime]).encode() if ext == 'svg' else base64.b64decode(_text(d[mime]))
                return f'<div class="nb-output" markdown>\n\n![]({name})\n\n</div>'
        if 'text/markdown' in d: return _text(d['text/markdown'])
        if 'text/html' in d: return f'<div class="nb-output nb-html">\n{_text(d["text/html"]).strip()}\n</div>'
        if 'text/plain' in d: return f'<div class="nb-output" markdown>\n\n{_fence(_text(d["text/plain"]))}\n\n</div>'
        return ''

    def markdown(self, site_url:str)->str:
        "The whole page"
        parts = [f"# {self.meta.get('title', self.stem)}"]
        if self.meta.get('description'): parts.append(f'<p class="nb-lead" markdown>{self.meta["description"]}</p>')
        n = 0
        for c in self.cells:
            src = _text(c['source'])
            if c['cell_type'] == 'markdown': parts.append(blank_before_lists(src)); continue
            if c['cell_type'] != 'code' or not src.strip(): continue
            d = _directives(src)
            if d.get('include') == 'false': continue
            code = '\n'.join(l for l in src.splitlines() if not _DIRECTIVE.match(l)).strip()
            if code and d.get('echo') != 'false': parts.append(_fence(code, 'python'))
            if d.get('output') == 'false': continue
            for o in c.get('outputs', []): parts.append(self.output(o, n)); n += 1
        return self.link('\n\n'.join(p for p in parts if p.strip()) + '\n', site_url)

def nav(sidebar:dict, pages:dict, titles:dict)->list:
    "MkDocs navigation from Quarto's sidebar contents: notebook names and `section:` groups"
    res = []
    for o in sidebar:
        if isinstance(o, dict) and 'section' in o: res.append({o['section']: nav(o.get('contents', []), pages, titles)})
        else:
            path = pages[Path(o).stem]
            res.append({titles[path]: f'{path}.md'})
    return res

def config(cfg, nav_, src:Path, out:Path)->dict:
    "The MkDocs configuration: Material theme, search, and Markdown extensions for notebook output"
    return dict(
        site_name=cfg['title'], site_description=cfg.get('description', ''), site_url=cfg['doc_host'].rstrip('/') + cfg['doc_baseurl'].rstrip('/') + '/',
        docs_dir=str(src), site_dir=str(out), strict=True, nav=nav_,
        # no repo_url: the theme would ask GitHub's API for stars on every page; a plain link reads offline too
        extra=dict(social=[dict(icon='fontawesome/brands/github', link=cfg['git_url'], name='Source on GitHub')]),
        use_directory_urls=False,  # files.html, as Quarto writes it and nbdev's doclinks expect
        theme=dict(name='material', features=['navigation.sections', 'navigation.top', 'navigation.footer', 'search.highlight',
                                              'content.code.copy', 'toc.follow'],
                   palette=dict(primary='indigo', accent='amber'), font=False),  # system fonts: no request to Google
        plugins=['search'], extra_css=['styles.css'],
        validation=dict(links=dict(anchors='warn', unrecognized_links='warn', absolute_links='warn')),
        markdown_extensions=['attr_list', 'md_in_html', 'tables', 'admonition', 'pymdownx.superfences',
                             {'pymdownx.highlight': {'use_pygments': True}}, {'toc': {'permalink': True}}])

def build(out:Path=root/'docs', quiet:bool=False)->Path:
    "Build the site into `out` (replaced) and return it"
    from nbdev.config import get_config
    from mkdocs.commands.build import build as mk_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort
    import logging
    cfg,proc = get_config(),proc_nbs()
    src = proc/'site'
    if src.exists(): shutil.rmtree(src)
    src.mkdir()
    nbs = sorted(p for p in proc.rglob('*.ipynb') if src not in p.parents)
    pages = {p.stem: page_path(p, proc) for p in nbs}
    site_url = cfg['doc_host'].rstrip('/') + cfg['doc_baseurl']
    titles = {}
    for p in nbs:
        page = Page(p, pages, proc)
        (src/f'{page.path}.md').parent.mkdir(parents=True, exist_ok=True)
        (src/f'{page.path}.md').write_text(page.markdown(site_url))
        for name,data in page.images.items(): (src/page.folder/name).parent.mkdir(parents=True, exist_ok=True); (src/page.folder/name).write_bytes(data)
        titles[page.path] = 'Home' if page.path == 'index' else page.meta.get('title', page.stem)
    shutil.copy(root/'nbs'/'styles.css', src/'styles.css')
    sidebar = yaml.safe_load((root/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    yml = proc/'mkdocs.yml'
    yml.write_text(yaml.safe_dump(config(cfg, nav(sidebar, pages, titles), src, Path(out).absolute()), sort_keys=False))
    log = logging.getLogger('mkdocs')
    if not log.handlers: h = logging.StreamHandler(); h.setFormatter(logging.Formatter('%(levelname)s: %(message)s')); log.addHandler(h)
    log.setLevel(logging.ERROR if quiet else logging.WARNING)
    mc = load_config(str(yml))
    mc.mdx_configs['toc']['slugify'] = pandoc_slug
    try: mk_build(mc)
    except Abort as e: raise SystemExit(f'docs: {e} (see the warnings above)') from None
    (Path(out)/'.nojekyll').touch()  # GitHub Pages serves the files as they are
    return Path(out)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(root/'docs'), help='folder for the site (replaced)')
    out = build(Path(ap.parse_args().out))
    print(f"docs site: {out}/index.html ({len([p for p in out.rglob('*.html') if 'search' not in p.parts])} pages)")
