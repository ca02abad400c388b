using System.Text.Json;
using AnCoder.Diffusion.Sampling;

namespace AnCoder.Experiments.Traces;

/// <summary>
/// Writes a <see cref="TraceDocument"/> as JSON or as one self-contained HTML page (no network: the data is embedded
/// and ~150 lines of JavaScript replay the denoising, anchors highlighted as in the paper's Figure 1).
/// </summary>
public static class TraceFiles
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write(string path, TraceDocument document)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null) Directory.CreateDirectory(directory);
        string json = JsonSerializer.Serialize(document, Json);
        string content = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? json : Html(json, document);
        File.WriteAllText(path, content);
    }

    /// <summary>The default encoder escapes &lt;, &gt; and &amp;, so the JSON cannot close the script element.</summary>
    private static string Html(string json, TraceDocument document) => Template
        .Replace("__TITLE__", System.Net.WebUtility.HtmlEncode($"AnCoder denoising trace — {document.Model}"))
        .Replace("__DATA__", json);

    private const string Template = """
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.2em}#meta{color:#555;margin-bottom:.6em}
#controls{display:flex;gap:.8em;align-items:center;flex-wrap:wrap;margin:.6em 0}
#step{width:28em}
#canvas{font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:1em;min-height:6em}
.t{border-radius:2px}.p{color:#888}.m{color:#bbb;background:#eee}
.kw{color:#0645ad;font-weight:700}.id{color:#b35900;font-weight:600}
.new{outline:2px solid #e5b400;background:#fff3b0}.drop{text-decoration:line-through;color:#bbb}
.legend span{margin-right:1.2em}#chart{background:#fff;border:1px solid #ddd;margin-top:.8em}
#summary{margin-top:.5em;color:#333}
</style></head><body>
<h1>__TITLE__</h1>
<div id="meta"></div>
<div id="controls">
 <label>sample <select id="sample"></select></label>
 <button id="play">▶ play</button>
 <input id="step" type="range" min="0" value="0">
 <span id="stepLabel"></span>
</div>
<div class="legend"><span class="kw">keyword</span><span class="id">identifier</span><span class="p">prompt</span>
 <span class="m">▒ masked</span><span class="new">revealed this step</span><span class="drop">dropped (after EOS)</span></div>
<div id="canvas"></div>
<div id="summary"></div>
<svg id="chart" width="640" height="200"></svg>
<script id="trace" type="application/json">__DATA__</script>
<script>
const doc = JSON.parse(document.getElementById('trace').textContent);
const $ = id => document.getElementById(id);
$('meta').textContent = `model ${doc.model} · ${doc.settings} · anchors: ${doc.anchor_strategy}`;
doc.samples.forEach((s, i) => { const o = document.createElement('option'); o.value = i; o.textContent = `#${i}: ${s.prompt.slice(0, 50).replace(/\n/g, '⏎')}`; $('sample').appendChild(o); });
let sample = doc.samples[0], timer = null;
function isAnchor(p) { return p.kept && !p.frozen && (p.keyword || p.identifier); }
function stateAt(k) {
  const tokens = sample.initial_tokens.slice(), changed = new Set();
  for (let i = 0; i <= k && i < sample.steps.length; i++)
    for (const c of sample.steps[i].changes) { tokens[c.position] = c.text; if (i === k) changed.add(c.position); }
  return [tokens, changed];
}
function render() {
  const k = +$('step').value, [tokens, changed] = stateAt(k - 1), last = k === sample.steps.length;
  const out = $('canvas'); out.textContent = '';
  sample.positions.forEach((p, i) => {
    const span = document.createElement('span'), text = tokens[i];
    span.className = 't';
    if (text === null || text === undefined) { span.textContent = '▒'; span.classList.add('m'); }
    else {
      span.textContent = text;
      if (p.frozen) span.classList.add('p');
      else if (p.keyword) span.classList.add('kw');
      else if (p.identifier) span.classList.add('id');
      if (changed.has(i)) span.classList.add('new');
      if (last && !p.kept) span.classList.add('drop');
    }
    span.title = `position ${i} · ${p.node} depth ${p.depth} · γ=${p.gamma.toPrecision(3)}` + (p.kept ? '' : ' · dropped');
    out.appendChild(span);
  });
  const st = sample.steps[k - 1];
  $('stepLabel').textContent = k === 0 ? `step 0 / ${sample.steps.length} (all masked)` :
    `step ${k} / ${sample.steps.length}` + (st.phase ? ` · ${st.phase}` : '') +
    (st.t === null ? (st.phase && st.changes.every(c => c.text === null) ? ' (broken region remasked)' : ' (final argmax pass)') : ` · t=${st.t.toFixed(3)} · α_s=${st.alpha_s.toFixed(3)}`) +
    (st.note ? ` · ${st.note}` : '') +
    ` · ${st.changes.length} changed` + (st.network_ran ? '' : ' · cached') +
    (k === sample.steps.length ? (sample.parsed ? ' · the final text parses' : ' · the final text does not parse') : '');
  drawChart(k);
}
function revealCurves() {
  const n = sample.steps.length, anchors = new Array(n + 1).fill(0), others = new Array(n + 1).fill(0);
  const visible = sample.initial_tokens.map(t => t !== null), pos = sample.positions;
  const nA = pos.filter(isAnchor).length, nO = pos.filter(p => p.kept && !p.frozen && !isAnchor(p)).length;
  for (let k = 0; k <= n; k++) {
    if (k > 0) for (const c of sample.steps[k - 1].changes) visible[c.position] = c.text !== null;
    let a = 0, o = 0;
    pos.forEach((p, i) => { if (!visible[i] || !p.kept || p.frozen) return; if (isAnchor(p)) a++; else o++; });
    anchors[k] = nA ? a / nA : 0; others[k] = nO ? o / nO : 0;
  }
  return [anchors, others];
}
let curves = null;
function drawChart(k) {
  const svg = $('chart'), W = 640, H = 200, L = 40, B = 25, n = sample.steps.length;
  const x = i => L + (W - L - 10) * i / Math.max(1, n), y = v => H - B - (H - B - 10) * v;
  const path = c => c.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  svg.innerHTML = `<line x1="${L}" y1="${y(0)}" x2="${W - 10}" y2="${y(0)}" stroke="#999"/><line x1="${L}" y1="${y(0)}" x2="${L}" y2="${y(1)}" stroke="#999"/>` +
    `<text x="4" y="${y(1) + 4}" font-size="11">100%</text><text x="12" y="${y(0)}" font-size="11">0%</text>` +
    `<text x="${W / 2 - 60}" y="${H - 5}" font-size="11">step → (share of generated tokens revealed)</text>` +
    `<path d="${path(curves[0])}" fill="none" stroke="#0645ad" stroke-width="2"/><path d="${path(curves[1])}" fill="none" stroke="#999" stroke-width="2" stroke-dasharray="4 3"/>` +
    `<line x1="${x(k)}" y1="${y(0)}" x2="${x(k)}" y2="${y(1)}" stroke="#e5b400"/>` +
    `<text x="${W - 200}" y="20" font-size="11" fill="#0645ad">— keywords + identifiers</text><text x="${W - 200}" y="34" font-size="11" fill="#777">- - other tokens</text>`;
}
function select(i) {
  sample = doc.samples[i]; curves = revealCurves();
  $('step').max = sample.steps.length; $('step').value = 0;
  const s = sample.summary;
  $('summary').textContent = `mean reveal time (0 = first step, 1 = last): anchors ${isNaN(s.anchor_mean_reveal_fraction) ? '–' : s.anchor_mean_reveal_fraction.toFixed(3)} (${s.anchors}) · other tokens ${isNaN(s.other_mean_reveal_fraction) ? '–' : s.other_mean_reveal_fraction.toFixed(3)} (${s.others})` + (sample.parsed ? '' : ' · final text does not parse: no anchor labels');
  render();
}
$('sample').onchange = e => select(+e.target.value);
$('step').oninput = render;
$('play').onclick = () => {
  if (timer) { clearInterval(timer); timer = null; $('play').textContent = '▶ play'; return; }
  if (+$('step').value >= sample.steps.length) $('step').value = 0;
  $('play').textContent = '❚❚ pause';
  timer = setInterval(() => { const s = $('step'); if (+s.value >= sample.steps.length) { $('play').onclick(); return; } s.value = +s.value + 1; render(); }, Math.max(15, 4000 / sample.steps.length));
};
select(0);
</script></body></html>
""";

    /// <summary>Mean reveal fraction of anchor tokens and of the others over traces (weighted by token counts; NaN when none).</summary>
    public static (double Anchor, double Other) AnchorSummary(IEnumerable<SampleTrace> traces)
    {
        double anchorSum = 0, otherSum = 0;
        int anchors = 0, others = 0;
        foreach (var t in traces)
        {
            if (t.Summary.Anchors > 0) { anchorSum += t.Summary.AnchorMeanRevealFraction * t.Summary.Anchors; anchors += t.Summary.Anchors; }
            if (t.Summary.Others > 0) { otherSum += t.Summary.OtherMeanRevealFraction * t.Summary.Others; others += t.Summary.Others; }
        }
        return (anchors == 0 ? double.NaN : anchorSum / anchors, others == 0 ? double.NaN : otherSum / others);
    }
}
