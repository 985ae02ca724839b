"Write README.md from the home notebook `nbs/index.ipynb` without Quarto (nbdev-readme needs it)."
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
_DIRECTIVE = re.compile(r'^\s*#\|\s*(\S+)')

def _directives(src): return [m.group(1) for l in src.splitlines() if (m := _DIRECTIVE.match(l))]

def _output_text(o):
    if o.get('output_type') == 'stream': return ''.join(o['text'])
    return ''.join(o.get('data', {}).get('text/plain', ''))

def render(nb_path=root/'nbs'/'index.ipynb'):
    "Markdown for the cells of `nb_path`: markdown as is, code and its text output fenced; hidden cells dropped"
    parts = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src); continue
        if {'hide', 'export', 'exporti'} & set(_directives(src)): continue
        code = '\n'.join(l for l in src.splitlines() if not _DIRECTIVE.match(l))
        if parts and parts[-1].startswith('``` python\n'): parts[-1] = parts[-1][:-4] + f"\n{code}\n```"  # an import cell and its use read as one block
        else: parts.append(f"``` python\n{code}\n```")
        out = ''.join(map(_output_text, c.get('outputs', [])))
        if out.strip(): parts.append(f"```\n{out.rstrip()}\n```")
    return '<!-- generated from nbs/index.ipynb by tools/readme.py: do not edit -->\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    md = render()
    if '--check' in sys.argv:
        if (root/'README.md').read_text() != md: sys.exit('README.md is out of date: run python tools/readme.py')
    else: (root/'README.md').write_text(md)
