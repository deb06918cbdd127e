# -*- coding: utf-8 -*-
"""Rewrites the panel's nginx site for SRS Stack (BT and aaPanel write the same vhost layout).

setup_site() inserts two marked blocks into the vhost the panel wrote for srs.stack.local:
  #SRS-HTTP-START ... #SRS-HTTP-END    at the top (the file is included in nginx's http context)
  #SRS-PROXY-START ... #SRS-PROXY-END  in the server, just before the panel's #SSL-START marker
Their content is the stack's own nginx snippets (installer/files/nginx-http.conf and
nginx-proxy.conf), so the panel site and a cloud image's front nginx proxy the same way.
Re-running replaces the blocks, so the result does not depend on how often it runs, and
remove_site_setup() gives back the panel's original file.

Usage: python3 bt_tools.py setup|remove /www/server/panel/vhost/nginx/srs.stack.local.conf
Panels run Python 3.7: keep the syntax to that.
"""
import io
import os
import re
import sys

HTTP_START = '#SRS-HTTP-START'
HTTP_END = '#SRS-HTTP-END'
PROXY_START = '#SRS-PROXY-START'
PROXY_END = '#SRS-PROXY-END'
SSL_START = '#SSL-START'
SITE_NAME = 'srs.stack.local'
VHOST = '/www/server/panel/vhost/nginx/%s.conf' % SITE_NAME

_HERE = os.path.dirname(os.path.abspath(__file__))
# Inside the plugin the release is unpacked in app/; in the source tree the snippets sit in installer/.
_SNIPPET_DIRS = [
    os.path.join(_HERE, 'app', 'installer', 'files'),
    os.path.join(_HERE, '..', '..', 'installer', 'files'),
]


class SiteError(Exception):
    pass


def load_snippets():
    """Returns (http_snippet, server_snippet) from the first folder that has them."""
    for folder in _SNIPPET_DIRS:
        http_path = os.path.join(folder, 'nginx-http.conf')
        proxy_path = os.path.join(folder, 'nginx-proxy.conf')
        if os.path.isfile(http_path) and os.path.isfile(proxy_path):
            with io.open(http_path, encoding='utf-8') as f_http, io.open(proxy_path, encoding='utf-8') as f_proxy:
                return f_http.read(), f_proxy.read()
    raise SiteError('nginx snippets not found in %s' % ', '.join(_SNIPPET_DIRS))


def _block(start, end, snippet, indent):
    lines = [start + ' SRS Stack: do not edit, the plugin rewrites this block']
    lines += [(indent + line) if line.strip() else '' for line in snippet.rstrip('\n').split('\n')]
    lines.append(indent + end)
    return '\n'.join(lines) + '\n'


def _strip_block(conf, start, end, trailing_blank):
    # A block goes with exactly the lines setup_site() added, so the text around it comes back as it was.
    tail = r'(?:[ \t]*\n)?' if trailing_blank else ''
    pattern = re.compile(r'^[ \t]*' + re.escape(start) + r'.*?^[ \t]*' + re.escape(end) + r'[^\n]*\n' + tail, re.S | re.M)
    return pattern.sub('', conf)


def remove_site_setup(conf):
    """The vhost without SRS Stack's blocks (the panel's original text)."""
    return _strip_block(_strip_block(conf, HTTP_START, HTTP_END, False), PROXY_START, PROXY_END, True)


def setup_site(conf, snippets=None):
    """The vhost with SRS Stack's blocks (re)inserted; raises SiteError if it is not a panel vhost."""
    http_snippet, server_snippet = snippets if snippets else load_snippets()
    conf = remove_site_setup(conf)
    ssl = re.search(r'^([ \t]*)' + re.escape(SSL_START), conf, re.M)
    if not ssl or not re.search(r'^\s*server\s*\{?', conf, re.M):
        raise SiteError('not a panel vhost: no "%s" marker inside a server block' % SSL_START)
    indent = ssl.group(1)
    proxy = indent + _block(PROXY_START, PROXY_END, server_snippet, indent) + '\n'
    conf = conf[: ssl.start()] + proxy + conf[ssl.start():]
    return _block(HTTP_START, HTTP_END, http_snippet, '') + conf


def is_setup(conf):
    return PROXY_START in conf and HTTP_START in conf


def main(argv):
    if len(argv) != 3 or argv[1] not in ('setup', 'remove'):
        sys.stderr.write('usage: bt_tools.py setup|remove <vhost.conf>\n')
        return 2
    path = argv[2]
    with io.open(path, encoding='utf-8') as f:
        before = f.read()
    try:
        after = setup_site(before) if argv[1] == 'setup' else remove_site_setup(before)
    except SiteError as err:
        sys.stderr.write('%s: %s\n' % (path, err))
        return 1
    if after != before:
        with io.open(path, 'w', encoding='utf-8') as f:
            f.write(after)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
