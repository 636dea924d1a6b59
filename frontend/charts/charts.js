// The chart bundle: ECharts with only the chart kinds and components Sightline uses, served
// from our own origin (no CDN) and loaded the first time a chart is shown. The server sends
// each chart's option as JSON (built with `charming`); this file adds what JSON cannot carry:
// number formatters, symbol sizes, the app's colours, resizing, clicks and downloads.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import {
  GridComponent, TooltipComponent, LegendComponent, AriaComponent,
} from 'echarts/components';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';

echarts.use([
  BarChart, LineChart, PieChart, ScatterChart,
  GridComponent, TooltipComponent, LegendComponent, AriaComponent,
  CanvasRenderer, SVGRenderer,
]);

// The same rules as `NumberFormat::format` on the server (app/src/model/chart.rs).
function formatter(f = {}) {
  const fixed = f.decimals === null || f.decimals === undefined ? null : f.decimals;
  const nf = new Intl.NumberFormat('en-US', {
    useGrouping: !f.plain,
    minimumFractionDigits: fixed ?? 0,
    maximumFractionDigits: fixed ?? 2,
  });
  return (v) => {
    if (Array.isArray(v)) return v.map((x) => formatter(f)(x)).join(', ');
    if (v === null || v === undefined || v === '') return '—';
    let x = Number(v);
    if (!Number.isFinite(x)) return String(v);
    if (f.percent) x *= 100;
    const s = nf.format(Math.abs(x));
    const neg = x < 0 && /[1-9]/.test(s);
    return `${neg ? '-' : ''}${f.prefix || ''}${s}${f.percent ? ' %' : ''}${f.suffix || ''}`;
  };
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

const axes = (a) => (Array.isArray(a) ? a : a ? [a] : []);

// Adds formatters and colours to the server's option for this spec.
function dress(option, spec) {
  const format = spec.stack === 'percent'
    ? formatter({ ...spec.format, percent: true, decimals: spec.format?.decimals ?? 1 })
    : formatter(spec.format);
  const text = cssVar('--text', '#1d2430');
  const muted = cssVar('--muted', '#6b7686');
  option.textStyle = { color: text, fontFamily: getComputedStyle(document.body).fontFamily };
  option.animationDuration = 300;
  option.aria = { enabled: true };
  if (option.tooltip) {
    option.tooltip.valueFormatter = format;
    option.tooltip.confine = true;
  }
  for (const axis of [...axes(option.xAxis), ...axes(option.yAxis)]) {
    axis.axisLabel = { ...(axis.axisLabel || {}), color: muted, hideOverlap: true };
    axis.nameTextStyle = { color: muted };
    if (axis.type === 'value' && spec.kind !== 'scatter') axis.axisLabel.formatter = format;
  }
  if (option.legend) option.legend.textStyle = { color: text };
  let sizes = null;
  if (spec.kind === 'scatter' && spec.size) {
    const all = (option.series || []).flatMap((s) => s.data.map((d) => d[2]));
    sizes = [Math.min(...all), Math.max(...all)];
  }
  for (const s of option.series || []) {
    if (s.label && s.label.show) {
      s.label.formatter = s.type === 'pie'
        ? (p) => `${p.name}: ${format(p.value)} (${p.percent} %)`
        : (p) => format(Array.isArray(p.value) ? p.value[1] : p.value);
    } else if (s.type === 'pie' && s.label) {
      s.label.formatter = '{b}';
    }
    if (sizes) {
      const [lo, hi] = sizes;
      s.symbolSize = (d) => 6 + 34 * ((d[2] - lo) / (hi - lo || 1));
    }
  }
  return option;
}

const charts = new WeakMap();

// Clicks on a bar, point or slice become a `sightline-chart-click` event on `el` (detail: JSON).
function render(el, optionJson, specJson) {
  const option = typeof optionJson === 'string' ? JSON.parse(optionJson) : optionJson;
  const spec = typeof specJson === 'string' ? JSON.parse(specJson) : specJson;
  disposePlugin(el);
  let entry = charts.get(el);
  if (!entry) {
    const chart = echarts.init(el, null, { renderer: 'canvas' });
    const observer = new ResizeObserver(() => chart.resize());
    observer.observe(el);
    entry = { chart, observer };
    chart.on('click', (p) => {
      el.dispatchEvent(new CustomEvent('sightline-chart-click', {
        detail: JSON.stringify({
          category: p.name ?? null,
          series: p.seriesName ?? null,
          dataIndex: p.dataIndex ?? null,
          value: p.value ?? null,
        }),
      }));
    });
    charts.set(el, entry);
  }
  entry.spec = spec;
  entry.chart.setOption(dress(option, spec), true);
  el.dataset.series = String((option.series || []).length);
  el.dataset.rendered = '1';
  return true;
}

function dispose(el) {
  disposePlugin(el);
  disposeChart(el);
}

function disposeChart(el) {
  const entry = charts.get(el);
  if (!entry) return;
  entry.observer.disconnect();
  entry.chart.dispose();
  charts.delete(el);
}

function save(url, filename) {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// PNG from the canvas at twice the resolution; SVG from a second, SVG-rendered copy.
function download(el, type, filename) {
  const entry = charts.get(el);
  if (!entry) return false;
  const background = cssVar('--panel', '#ffffff');
  if (type === 'svg') {
    const box = document.createElement('div');
    box.style.cssText = `position:fixed;left:-10000px;top:0;width:${el.clientWidth}px;height:${el.clientHeight}px`;
    document.body.appendChild(box);
    const copy = echarts.init(box, null, { renderer: 'svg' });
    const option = entry.chart.getOption();
    option.animation = false;
    copy.setOption(option);
    save(copy.getDataURL({ type: 'svg', backgroundColor: background }), filename);
    copy.dispose();
    box.remove();
  } else {
    save(entry.chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: background }), filename);
  }
  return true;
}

// For tests and tools: what the chart draws now.
function describe(el) {
  const entry = charts.get(el);
  if (!entry) return null;
  const o = entry.chart.getOption();
  return JSON.stringify({
    series: (o.series || []).map((s) => ({ type: s.type, name: s.name, data: s.data })),
    categories: axes(o.xAxis).concat(axes(o.yAxis)).find((a) => a.type === 'category')?.data ?? null,
  });
}

function showTip(el, seriesIndex, dataIndex) {
  const entry = charts.get(el);
  if (!entry) return false;
  entry.chart.dispatchAction({ type: 'showTip', seriesIndex, dataIndex });
  return true;
}

// Where a bar or point is on the page (the middle of a bar), for tests that click it.
function pixelOf(el, seriesIndex, dataIndex) {
  const entry = charts.get(el);
  if (!entry) return null;
  const o = entry.chart.getOption();
  const cat = axes(o.xAxis).concat(axes(o.yAxis)).find((a) => a.type === 'category');
  const d = o.series[seriesIndex].data[dataIndex];
  const v = d !== null && typeof d === 'object' && !Array.isArray(d) ? d.value : d;
  const at = (value) => entry.chart.convertToPixel({ seriesIndex }, [cat.data[dataIndex], value]);
  const [x, y] = at(v);
  const [x0, y0] = at(0);
  const r = el.getBoundingClientRect();
  return JSON.stringify({ x: r.left + (x + x0) / 2, y: r.top + (y + y0) / 2 });
}

// Visualization plugins run in a sandboxed frame (`sandbox="allow-scripts"`, no same origin):
// they can read no cookie, call no server function and reach no other page. The page fetches
// the plugin's module (same origin) and posts it with the rows into the frame, which imports
// it from a blob URL and calls `render(element, data, options, sightline)`; the frame answers
// `rendered`, `error` or `click` messages. A plugin that does not answer in 5 s is stopped.
const PLUGIN_FRAME = `<!doctype html><html><head><meta charset="utf-8"><style>
html,body{margin:0;font:14px system-ui,sans-serif;color:#1d2430;background:transparent}</style></head>
<body><div id="root"></div><script type="module">
let token = null;
const reply = (m) => parent.postMessage({ ...m, token }, '*');
addEventListener('error', (e) => reply({ type: 'error', message: String(e.message || e) }));
addEventListener('unhandledrejection', (e) => reply({ type: 'error', message: String(e.reason && e.reason.message || e.reason) }));
let current = null;
addEventListener('message', async (e) => {
  const m = e.data;
  if (m && m.type === 'dispose' && e.source === parent && current && typeof current.dispose === 'function') {
    try { current.dispose(); } catch (_) {}
    return;
  }
  if (!m || m.type !== 'render' || e.source !== parent) return;
  token = m.token;
  try {
    const url = URL.createObjectURL(new Blob([m.source], { type: 'text/javascript' }));
    const mod = await import(url);
    current = mod;
    if (typeof mod.render !== 'function') throw new Error('the module exports no render(element, data, options) function');
    const root = document.getElementById('root');
    await mod.render(root, m.data, m.options, { click: (row) => reply({ type: 'click', row: JSON.parse(JSON.stringify(row)) }) });
    reply({ type: 'rendered', height: root.scrollHeight + 16 });
  } catch (err) {
    reply({ type: 'error', message: String(err && err.message || err) });
  }
});
parent.postMessage({ type: 'ready' }, '*');
<\/script></body></html>`;

const frames = new WeakMap();

function fail(el, message) {
  el.dataset.rendered = 'error';
  el.dispatchEvent(new CustomEvent('sightline-plugin-error', { detail: message }));
}

async function plugin(el, moduleUrl, payloadJson) {
  dispose(el);
  el.dataset.rendered = '0';
  const payload = JSON.parse(payloadJson);
  let source;
  try {
    const r = await fetch(moduleUrl, { credentials: 'same-origin' });
    if (!r.ok) throw new Error(`its module could not be loaded (HTTP ${r.status})`);
    source = await r.text();
  } catch (err) {
    fail(el, String(err.message || err));
    return false;
  }
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.setAttribute('title', payload.name || 'Plugin');
  frame.className = 'plugin-frame';
  frame.style.cssText = 'width:100%;height:360px;border:0;display:block';
  const token = Math.random().toString(36).slice(2);
  const timer = setTimeout(() => {
    frame.remove();
    fail(el, 'it did not finish drawing within 5 seconds');
  }, 5000);
  const onMessage = (e) => {
    if (e.source !== frame.contentWindow || !e.data) return;
    const m = e.data;
    if (m.type === 'ready') {
      frame.contentWindow.postMessage({ type: 'render', token, source, data: payload.data, options: payload.options }, '*');
      return;
    }
    if (m.token !== token) return;
    if (m.type === 'rendered') {
      clearTimeout(timer);
      if (m.height > 40) frame.style.height = `${Math.min(m.height + 8, 1200)}px`;
      el.dataset.rendered = '1';
    } else if (m.type === 'error') {
      clearTimeout(timer);
      frame.remove();
      fail(el, m.message);
    } else if (m.type === 'click' && Array.isArray(m.row)) {
      const cols = payload.data.columns;
      el.dispatchEvent(new CustomEvent('sightline-chart-click', {
        detail: JSON.stringify({ row: Object.fromEntries(cols.map((c, i) => [c, m.row[i] ?? null])) }),
      }));
    }
  };
  addEventListener('message', onMessage);
  frames.set(el, { frame, onMessage, timer });
  frame.srcdoc = PLUGIN_FRAME;
  el.appendChild(frame);
  return true;
}

function disposePlugin(el) {
  const f = frames.get(el);
  if (!f) return;
  clearTimeout(f.timer);
  try { f.frame.contentWindow.postMessage({ type: 'dispose' }, '*'); } catch (_) {}
  removeEventListener('message', f.onMessage);
  f.frame.remove();
  frames.delete(el);
}

window.SightlineCharts = { render, dispose, download, describe, showTip, pixelOf, formatter, plugin, disposePlugin };
window.dispatchEvent(new Event('sightline-charts-ready'));
