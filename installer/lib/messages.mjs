// What the installer says, in English and Chinese (--language). Each entry takes its values as
// arguments so both languages place them where they read naturally.
const MESSAGES = {
  notRoot: {
    en: () => 'Please run the installer as root (sudo bash installer/setup.sh ...).',
    zh: () => '请用 root 运行安装程序（sudo bash installer/setup.sh ...）。',
  },
  osVersion: {
    en: (name, supported) => `${name} is too old. SRS Stack installs on ${supported}.`,
    zh: (name, supported) => `${name} 版本太旧，SRS Stack 支持 ${supported}。`,
  },
  osRhel: {
    en: (name, supported) =>
      `${name} is not supported. SRS Stack installs on ${supported}: its media engine (nginx with the RTMP module) is not packaged for CentOS/RHEL (not in EPEL), and CentOS 7 is too old for Node.js 20. Please use Ubuntu 20.04 or later.`,
    zh: (name, supported) =>
      `不支持 ${name}。SRS Stack 支持 ${supported}：CentOS/RHEL 没有媒体引擎需要的 nginx RTMP 模块（EPEL 中也没有），CentOS 7 也太旧，无法运行 Node.js 20。请使用 Ubuntu 20.04 或更新的系统。`,
  },
  osUnknown: {
    en: (name, supported) => `${name} is not supported. SRS Stack installs on ${supported}.`,
    zh: (name, supported) => `不支持 ${name}，SRS Stack 支持 ${supported}。`,
  },
  noSystemd: {
    en: () => 'systemd is required (systemctl not found). Install it with: apt-get install -y systemd',
    zh: () => '需要 systemd（找不到 systemctl），请先安装：apt-get install -y systemd',
  },
  badConfig: {
    en: (detail) => `/data/config/.env has an invalid setting, fix it first: ${detail}`,
    zh: (detail) => `/data/config/.env 中有错误的配置，请先修改：${detail}`,
  },
  portTaken: {
    en: (port, who) =>
      `Port ${port} is already used by ${who}. Stop it, or give SRS Stack another port in /data/config/.env, then run the installer again.`,
    zh: (port, who) => `端口 ${port} 已被 ${who} 占用。请停止它，或在 /data/config/.env 中为 SRS Stack 换一个端口，然后重新运行安装程序。`,
  },
  notRelease: {
    en: (dir) => `${dir} is not a built release (dist/server/main.js missing). Run npm run release, or use the release tarball.`,
    zh: (dir) => `${dir} 不是构建好的发布包（缺少 dist/server/main.js）。请运行 npm run release，或使用发布的压缩包。`,
  },
  stepCheck: { en: () => 'Checking the system', zh: () => '检查系统' },
  stepPackages: {
    en: () => 'Installing system packages (FFmpeg, nginx RTMP module, Redis, libsrt)',
    zh: () => '安装系统软件包（FFmpeg、nginx RTMP 模块、Redis、libsrt）',
  },
  stepApp: { en: () => 'Installing SRS Stack to /usr/local/srs-stack', zh: () => '安装 SRS Stack 到 /usr/local/srs-stack' },
  stepData: { en: () => 'Preparing the data directory /data', zh: () => '准备数据目录 /data' },
  stepSysctl: { en: () => 'Setting UDP buffers for WebRTC and SRT (sysctl)', zh: () => '设置 WebRTC 和 SRT 的 UDP 缓冲区（sysctl）' },
  stepFront: { en: () => 'Putting the system nginx in front on ports 80/443', zh: () => '配置系统 nginx 在 80/443 端口代理' },
  stepFirewall: {
    en: () => 'Firewall: the ports of RTMP, SRT (UDP), WebRTC (UDP) and the console',
    zh: () => '防火墙：RTMP、SRT（UDP）、WebRTC（UDP）和控制台的端口',
  },
  stepService: { en: () => 'Installing the service srs-stack.service', zh: () => '安装服务 srs-stack.service' },
  stepWait: { en: () => 'Waiting for SRS Stack to answer', zh: () => '等待 SRS Stack 启动' },
  osOk: { en: (name) => `System: ${name}`, zh: (name) => `系统：${name}` },
  portOurs: {
    en: (port) => `Port ${port} is held by the running SRS Stack: it will be restarted`,
    zh: (port) => `端口 ${port} 由正在运行的 SRS Stack 使用，将会重启它`,
  },
  srtMissing: {
    en: (names) => `This system's apt has no ${names}: SRT publishing and playback stay off (RTMP, WebRTC and the rest work)`,
    zh: (names) => `系统的 apt 源中没有 ${names}：SRT 推流和播放不可用（RTMP、WebRTC 等其他功能正常）`,
  },
  firewallOpened: {
    en: (list) => `ufw: opened ${list}. Open them in your cloud security group too.`,
    zh: (list) => `ufw：已开放 ${list}。请同时在云服务器安全组中开放这些端口。`,
  },
  firewallHint: {
    en: (list) => `Open these ports in your firewall and cloud security group: ${list}`,
    zh: (list) => `请在防火墙和云服务器安全组中开放这些端口：${list}`,
  },
  firewallPanel: {
    en: (list) => `Open these ports on the plugin page (Open ports) or in the panel's firewall, and in your cloud security group: ${list}`,
    zh: (list) => `请在插件页面（开放端口）或面板的防火墙中开放这些端口，并在云服务器安全组中开放：${list}`,
  },
  packagesPresent: { en: (list) => `Already installed: ${list}`, zh: (list) => `已安装：${list}` },
  packagesMissing: { en: (list) => `Installing: ${list}`, zh: (list) => `正在安装：${list}` },
  stockDisabled: {
    en: (svc) => `Disabled the distribution's ${svc} service: SRS Stack runs its own`,
    zh: (svc) => `已禁用系统自带的 ${svc} 服务：SRS Stack 使用自己的进程`,
  },
  upgrading: { en: (from, to) => `Upgrading ${from} to ${to}; /data is kept`, zh: (from, to) => `从 ${from} 升级到 ${to}，/data 保留不变` },
  installing: { en: (version) => `Installing version ${version}`, zh: (version) => `安装版本 ${version}` },
  sysctlLive: {
    en: () => 'Could not apply them now (container?): they apply at the next boot',
    zh: () => '现在无法生效（可能在容器中），下次开机后生效',
  },
  enabledNotStarted: {
    en: () => 'Service enabled, not started (--no-start)',
    zh: () => '服务已启用但未启动（--no-start）',
  },
  notAnswering: {
    en: (seconds) => `SRS Stack did not answer within ${seconds} s. See: journalctl -u srs-stack -n 100`,
    zh: (seconds) => `SRS Stack 在 ${seconds} 秒内没有响应，请查看：journalctl -u srs-stack -n 100`,
  },
  done: {
    en: (url) =>
      `Install OK. Open the console: ${url}\nThe first visit asks you to set the admin password (forgot it? srs-stack reset-password).\nUpgrade: run the installer again. Uninstall: bash /usr/local/srs-stack/app/installer/setup.sh uninstall`,
    zh: (url) =>
      `安装成功。打开控制台：${url}\n首次访问时设置管理员密码（忘记密码：srs-stack reset-password）。\n升级：再次运行安装程序。卸载：bash /usr/local/srs-stack/app/installer/setup.sh uninstall`,
  },
  doneEdge: {
    en: (url, origin) =>
      `Install OK: this box is an edge of ${origin}. Players use the origin's play URLs with this host: ${url}/live/<stream>.m3u8 (HLS), .flv (HTTP-FLV), /live/<stream>/ll.m3u8 (LL-HLS), rtmp://<this host>/live/<stream>.\nNo console here: publish to and manage the origin. Upgrade: run the installer again.`,
    zh: (url, origin) =>
      `安装成功：本机是 ${origin} 的边缘节点。播放器使用源站的播放地址，把主机换成本机：${url}/live/<stream>.m3u8（HLS）、.flv（HTTP-FLV）、/live/<stream>/ll.m3u8（LL-HLS）、rtmp://<本机>/live/<stream>。\n这里没有控制台：推流和管理都在源站。升级：再次运行安装程序。`,
  },
  edgeOrigin: { en: (origin) => `Edge of ${origin} (EDGE_ORIGIN)`, zh: (origin) => `源站 ${origin} 的边缘节点（EDGE_ORIGIN）` },
  uninstallStep: { en: () => 'Removing the service and /usr/local/srs-stack', zh: () => '卸载服务和 /usr/local/srs-stack' },
  uninstalled: {
    en: () => 'Uninstall OK. Kept /data (settings, recordings, uploads): remove it yourself if you no longer need it.',
    zh: () => '卸载成功。保留了 /data（配置、录制、上传的文件），不再需要时请自行删除。',
  },
  failed: { en: (message) => `Install failed: ${message}`, zh: (message) => `安装失败：${message}` },
};

/** @returns {(key: keyof typeof MESSAGES, ...values: unknown[]) => string} */
export function messagesFor(language) {
  return (key, ...values) => MESSAGES[key][language === 'zh' ? 'zh' : 'en'](...values);
}
