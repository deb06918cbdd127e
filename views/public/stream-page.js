// The stream page's charts (views/stream-page/page.ejs): the last five minutes of streams.health's
// history, drawn by uPlot (served from its npm package at /mgmt/vendor/uplot, no CDN) and redrawn
// every 5 s. Each figure says how many points and series it drew (data-points, data-series).
(function () {
  'use strict';
  const root = document.getElementById('stream-page');
  const figures = document.querySelectorAll('#stream-charts figure[data-chart]');
  if (!root || !figures.length || !window.uPlot || !window.srsApi) return;
  const { app, stream } = root.dataset;
  /** The first is the console's red (console.css), then colours that stay apart for the colour-blind. */
  const COLORS = ['#c0392b', '#2471a3', '#229954', '#b9770e', '#7d3c98', '#566573'];
  const charts = new Map();
  const errorBox = document.getElementById('charts-error');
  /** The destinations' names as the page shows them (`forward/wx` → `Forward · YouTube`), by the page's language. */
  const names = JSON.parse(document.getElementById('destination-names')?.textContent || '{}');
  const lang = document.documentElement.lang || undefined;
  /** One line per tick (uPlot's default adds the date below, which overlaps on a phone). */
  const clock = (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString(lang, { hour12: false }));

  /** uPlot's columns for a figure: the times, then one array per series. */
  function columns(fig, h) {
    const name = fig.dataset.chart;
    if (name === 'destinations') {
      const id = (d) => d.feature + '/' + d.platform;
      return { labels: h.destinations.map((d) => names[id(d)] || id(d)), data: [h.t, ...h.destinations.map((d) => d.kbps)] };
    }
    return { labels: [fig.dataset.unit], data: [h.t, h[name]] };
  }

  const widthOf = (fig) => Math.max(200, Math.floor(fig.querySelector('.plot').clientWidth));

  function draw(fig, h) {
    const { labels, data } = columns(fig, h);
    fig.dataset.points = String(h.t.length);
    fig.dataset.series = String(labels.length);
    const empty = fig.querySelector('.empty');
    if (empty) empty.hidden = labels.length > 0;
    const key = labels.join('\n');
    const chart = charts.get(fig);
    if (chart && chart.key === key) {
      chart.plot.setData(data);
      return;
    }
    if (chart) chart.plot.destroy();
    charts.delete(fig);
    if (!labels.length) return;
    const plot = new window.uPlot(
      {
        width: widthOf(fig),
        height: 150,
        legend: { show: labels.length > 1 },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [{ values: clock, space: 70 }, { size: 48 }],
        series: [{}, ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2 }))],
      },
      data,
      fig.querySelector('.plot'),
    );
    charts.set(fig, { key, plot });
  }

  async function update() {
    try {
      const page = await window.srsApi('/terraform/v1/mgmt/streams/health', { app, stream });
      for (const fig of figures) draw(fig, page.history);
      errorBox.hidden = true;
    } catch (e) {
      // A stream gone for over a minute: the figures' section already says so; keep the last charts.
      errorBox.textContent = String(e.message || e);
      errorBox.hidden = false;
    }
  }

  let resizing = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const [fig, { plot }] of charts) plot.setSize({ width: widthOf(fig), height: 150 });
    }, 150);
  });
  void update();
  setInterval(update, 5000);
})();
