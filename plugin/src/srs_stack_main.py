# -*- coding: utf-8 -*-
"""SRS Stack plugin for BT (宝塔) and aaPanel.

The panel loads this file as plugin/srs_stack/srs_stack_main.py, builds srs_stack_main() and calls
its public methods for the page: POST /plugin?action=a&name=srs_stack&s=<method>, form fields in
`args`. Each answer is public.returnMsg(ok, msg) with a JSON string in msg (the panel mangles
non-ASCII text in nested JSON). Methods starting with "_" cannot be called from the page.

Installing runs the stack's own installer (app/installer/setup.sh) in the background: system
packages, Node.js, /usr/local/srs-stack and srs-stack.service; /data is kept across reinstalls.
Panels run Python 3.7: keep the syntax to that.
"""
import io
import json
import os
import re
import subprocess
import sys
import time

PANEL_DIR = '/www/server/panel'
PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(PANEL_DIR):
    os.chdir(PANEL_DIR)
    sys.path.insert(0, os.path.join(PANEL_DIR, 'class'))
sys.path.insert(0, PLUGIN_DIR)

import bt_tools  # noqa: E402  (shipped in the plugin folder)

SITE_NAME = bt_tools.SITE_NAME
SITE_ROOT = '/www/wwwroot/' + SITE_NAME
NGINX_BIN = '/www/server/nginx/sbin/nginx'
INSTALL_LOG = '/tmp/srs_stack_install.log'
INSTALL_R0 = '/tmp/srs_stack_install.r0'
INSTALL_PID = '/tmp/srs_stack_install.pid'
FIREWALL_FLAG = '/tmp/srs_stack_install.fw'
UNIT_FILE = '/usr/lib/systemd/system/srs-stack.service'
APP_PACKAGE = '/usr/local/srs-stack/app/package.json'
# Streams and the console reach the stack directly on these; the site on 80/443 goes through nginx.
FIREWALL_PORTS = (('1935', 'tcp', 'SRS Stack RTMP'), ('2022', 'tcp', 'SRS Stack console'), ('8000', 'udp', 'SRS Stack WebRTC'), ('10080', 'udp', 'SRS Stack SRT'))
# The panel's firewalls().AddAcceptPortAll(port, note) opens TCP only, so the UDP ports go to the
# host's firewall directly: ufw (Ubuntu/Debian panels) or firewalld (CentOS-family panels).
UFW_STATUS = ['ufw', 'status']
FIREWALLD_STATE = ['firewall-cmd', '--state']
DOMAIN_RE = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$')
LOG_PAGE = 100


def _panel():
    """The panel's own modules, imported on use so this file also loads outside a panel (tests)."""
    import public  # noqa: F401
    import panelSite
    import files
    import firewalls

    return public, panelSite.panelSite, files.files, firewalls.firewalls


def _answer(ok, data):
    public = _panel()[0]
    return public.returnMsg(ok, json.dumps(data, ensure_ascii=False))


def _read(path, default=''):
    try:
        with io.open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except (IOError, OSError):
        return default


def _run(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    return proc.returncode, out.decode('utf-8', 'replace')


def _probe(cmd):
    """A command's output, or '' if the tool is not installed."""
    try:
        return _run(cmd)[1]
    except OSError:
        return ''


def firewall_backend(ufw_status, firewalld_state):
    """Which host firewall is on, from `ufw status` and `firewall-cmd --state`: 'ufw', 'firewalld' or None."""
    if re.search(r'^Status:\s*active\b', ufw_status or '', re.M):
        return 'ufw'
    if (firewalld_state or '').strip() == 'running':
        return 'firewalld'
    return None


def udp_firewall_commands(backend, ports):
    """The argv lists that open the UDP ones of ports ((port, protocol, note), ...) with backend."""
    udp = [(port, note) for port, protocol, note in ports if protocol == 'udp']
    for port, _ in udp:
        if not re.match(r'^[0-9]{1,5}$', port) or not 0 < int(port) < 65536:
            raise ValueError('invalid port %r' % (port,))
    if backend == 'ufw':
        return [['ufw', 'allow', '%s/udp' % port, 'comment', note] for port, note in udp]
    if backend == 'firewalld' and udp:
        return [['firewall-cmd', '--permanent', '--add-port=%s/udp' % port] for port, _ in udp] + [['firewall-cmd', '--reload']]
    return []


def _installing():
    pid = _read(INSTALL_PID).strip()
    # The panel never reaps the finished installer, so a zombie (state Z) counts as finished.
    stat = _read('/proc/%s/stat' % pid) if pid.isdigit() else ''
    return bool(stat) and stat.rsplit(')', 1)[-1].split()[0] != 'Z'


def _config():
    """LANGUAGE and CLOUD chosen when the zip was built (a file BT does not delete, unlike .env)."""
    values = {'LANGUAGE': 'zh', 'CLOUD': 'BT'}
    for line in _read(os.path.join(PLUGIN_DIR, 'config')).splitlines():
        if '=' in line:
            key, value = line.split('=', 1)
            values[key.strip()] = value.strip()
    return values


class srs_stack_main:
    def serviceStatus(self, args):
        """Everything the page needs to pick its view."""
        vhost = _read(bt_tools.VHOST)
        version = ''
        try:
            version = json.loads(_read(APP_PACKAGE, '{}')).get('version', '')
        except ValueError:
            pass
        domains = re.search(r'^\s*server_name\s+([^;]+);', vhost, re.M)
        return _answer(
            True,
            {
                'plugin_ready': os.path.exists(os.path.join(PLUGIN_DIR, '.bt_ready')),
                'install_error': _read(INSTALL_R0).strip(),
                'installing': _installing(),
                'srs_ready': os.path.exists(UNIT_FILE),
                'srs_active': _run(['systemctl', 'is-active', 'srs-stack.service'])[1].strip() == 'active',
                'srs_version': version,
                'nginx': os.path.exists(NGINX_BIN),
                'site_created': bool(vhost) and os.path.isdir(SITE_ROOT),
                'site_domain': [d for d in domains.group(1).split() if d != SITE_NAME] if domains else [],
                'site_setup': bt_tools.is_setup(vhost),
                'firewall_ready': os.path.exists(FIREWALL_FLAG),
                'language': _config()['LANGUAGE'],
            },
        )

    def installTasks(self, args):
        """The panel's own install queue (NGINX installed from the software store)."""
        files = _panel()[2]
        return files().GetTaskSpeed(args)

    def installSrs(self, args):
        """Starts the install in the background (once), then pages through its log: start/end."""
        if not _installing() and not os.path.exists(INSTALL_R0) and getattr(args, 'start', '0') in ('0', 0, None):
            if not os.path.exists(NGINX_BIN):
                return _answer(False, {'error': 'nginx_missing'})
            with io.open(INSTALL_LOG, 'w', encoding='utf-8'):
                pass
            log = open(INSTALL_LOG, 'ab')
            proc = subprocess.Popen(
                ['bash', os.path.join(PLUGIN_DIR, 'setup.sh'), '--r0', INSTALL_R0],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=PLUGIN_DIR,
                start_new_session=True,
            )
            with io.open(INSTALL_PID, 'w', encoding='utf-8') as f:
                f.write(u'%d' % proc.pid)
        return self.querySrs(args)

    def querySrs(self, args):
        try:
            start = max(0, int(getattr(args, 'start', 0) or 0))
        except ValueError:
            start = 0
        lines = _read(INSTALL_LOG).splitlines()
        page = lines[start : start + LOG_PAGE]
        return _answer(
            True,
            {
                'installing': _installing(),
                'install_error': _read(INSTALL_R0).strip(),
                'srs_ready': os.path.exists(UNIT_FILE),
                'start': start,
                'end': start + len(page),
                'lines': page,
            },
        )

    def cleanupInstall(self, args):
        """Forgets a failed install so the page offers it again."""
        for path in (INSTALL_R0, INSTALL_LOG, INSTALL_PID):
            if os.path.exists(path):
                os.remove(path)
        return _answer(True, {})

    def createSrsSite(self, args):
        """Creates the static site srs.stack.local with the user's domain (DNS or hosts must point here)."""
        domain = (getattr(args, 'domain', '') or '').strip().lower()
        if not DOMAIN_RE.match(domain):
            return _answer(False, {'error': 'invalid_domain', 'domain': domain})
        public, panel_site = _panel()[0], _panel()[1]
        get = public.dict_obj()
        get.webname = json.dumps({'domain': SITE_NAME, 'domainlist': [domain], 'count': 0})
        get.type = 'PHP'
        get.version = '00'
        get.port = '80'
        get.path = SITE_ROOT
        get.ps = 'SRS Stack'
        get.ftp = 'false'
        get.sql = 'false'
        get.codeing = 'utf8'
        get.set_ssl = 0
        get.type_id = 0
        result = panel_site().AddSite(get)
        ok = isinstance(result, dict) and result.get('siteStatus', result.get('status', False))
        return _answer(bool(ok), {'result': result})

    def setupSrsSite(self, args):
        """Makes the site proxy everything to the stack on 127.0.0.1:2022, then reloads nginx."""
        public, files = _panel()[0], _panel()[2]
        get = public.dict_obj()
        get.path = bt_tools.VHOST
        body = files().GetFileBody(get)
        conf = body.get('data', '') if isinstance(body, dict) else ''
        try:
            new_conf = bt_tools.setup_site(conf)
        except bt_tools.SiteError as err:
            return _answer(False, {'error': str(err)})
        if new_conf != conf:
            get.data = new_conf
            get.encoding = 'utf-8'
            saved = files().SaveFileBody(get)
            if isinstance(saved, dict) and not saved.get('status', False):
                return _answer(False, {'error': saved.get('msg', 'save failed')})
        public.serviceReload()
        return _answer(True, {'site_setup': True})

    def setupFirewall(self, args):
        """TCP ports through the panel's firewall (its list shows them); UDP ports through ufw or firewalld."""
        firewalls = _panel()[3]
        results = []
        for port, protocol, note in FIREWALL_PORTS:
            if protocol == 'tcp':
                results.append({'port': port, 'protocol': protocol, 'result': firewalls().AddAcceptPortAll(port, note)})
        backend = firewall_backend(_probe(UFW_STATUS), _probe(FIREWALLD_STATE))
        commands = []
        for cmd in udp_firewall_commands(backend, FIREWALL_PORTS):
            try:
                code, out = _run(cmd)
            except OSError as err:
                code, out = -1, str(err)
            commands.append({'argv': cmd, 'code': code, 'output': out.strip()})
        udp_ports = ['%s/udp' % port for port, protocol, _ in FIREWALL_PORTS if protocol == 'udp']
        opened = bool(commands) and all(c['code'] == 0 for c in commands)
        with io.open(FIREWALL_FLAG, 'w', encoding='utf-8') as f:
            f.write(u'%d' % int(time.time()))
        return _answer(
            True,
            {
                'ports': results,
                'udp': {'ports': udp_ports, 'firewall': backend or 'none', 'opened': opened, 'commands': commands},
                # The page shows it: the panel's firewall list has no UDP rules, so say where they went.
                'notice': 'udp_opened' if opened else 'udp_manual',
                'notice_args': {'ports': ', '.join(udp_ports), 'firewall': backend or ''},
            },
        )

    def querySrsService(self, args):
        code, out = _run(['systemctl', 'status', 'srs-stack.service', '--no-pager'])
        return _answer(True, {'code': code, 'status': out})

    def uninstall_check(self, args):
        """Called by the panel's uninstall_plugin before it removes the plugin. The panel reads the
        answer inverted: status True means "the pre-uninstall check failed" and it stops, showing msg;
        status False lets the uninstall go on. Nothing blocks removing SRS Stack (/data is kept)."""
        return _answer(False, {'blocked': False, 'keeps': '/data'})
