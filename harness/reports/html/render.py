"""The view model as one self-contained HTML file: Jinja2 with autoescaping for every text, the
style and script inline (no network: the page works opened from disk), the sentences as JSON in
a `<script type="application/json">` block that the script reads and draws with textContent.

Why the JSON is escaped by hand: a script element's content is raw text, not HTML, so HTML
escaping does not apply inside it; `<`, `>` and `&` become \\u003c, \\u003e and \\u0026 (and
U+2028/2029 their escapes), which leaves valid JSON that no `</script>` or `<!--` in the data
can end early. A Content-Security-Policy with the script's hash lets only our own script run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from harness.reports.html.charts import bar_chart
from harness.reports.html.model import ReportView, RunView, SentenceView
from metrics.outcomes import OUTCOMES

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(data: Any) -> str:
    """JSON safe inside a script element (see the module docstring); keys sorted."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.translate(_JSON_ESCAPES)


def _asset(name: str) -> str:
    text = files("harness.reports.html").joinpath("templates", name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"{name}: a closing tag inside an inline asset would end it early")
    return text


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _dataset_json(s: SentenceView) -> dict[str, Any]:
    """What every run of a page shares about a sentence (runs are over one dataset): id, source,
    references, and `aligned` only when whitespace was removed."""
    out = {"id": s.id, "source": s.source, "refs": list(s.references)}
    if s.aligned_source != s.source:
        out["aligned"] = s.aligned_source
    return out


def _sentence_json(s: SentenceView, shared: dict[str, Any]) -> dict[str, Any]:
    """One run's view of a sentence for the script; repeats are left out (two runs of NaCGEC test:
    the dataset once, not once per run). `ref` is the index of the chosen reference in `refs`
    (null: not scored), `raw` only when it differs from the hypothesis (null: none recorded); a
    sentence whose dataset fields differ from the shared ones carries its own."""
    own = _dataset_json(s)
    refs = own["refs"]
    out = {"hyp": s.hypothesis, "flags": list(s.flags), "error": s.error, "outcome": s.outcome,
           "ref": None if s.reference is None else refs.index(s.reference) if s.reference in refs else s.reference,
           "counts": {level: list(c) for level, c in s.counts.items()},
           "marks": [[m.kind, m.start, m.end, m.source_text, m.correction, "/".join(m.types)] for m in s.marks]}
    if own != shared:
        out["own"] = own
    if s.raw != s.hypothesis:
        out["raw"] = s.raw
    return out


def payload(report: ReportView) -> dict[str, Any]:
    """What the sentence browser needs, and no more: the dataset's sentences once, each run's view
    of them, and the outcome names."""
    shared = [_dataset_json(s) for s in report.runs[0].sentences] if report.runs else []
    return {"outcomes": list(OUTCOMES), "sentences": shared,
            "runs": [{"name": run.identity.run,
                      "sentences": [_sentence_json(s, shared[k]) for k, s in enumerate(run.sentences)]}
                     for run in report.runs]}


def _charts(run: RunView) -> dict[str, Any]:
    return {"outcomes": bar_chart(f"Outcomes of {run.identity.run} (char level)",
                                  [(name, count) for name, count in run.outcomes["char"].items()
                                   if count or name != "unscored"], "outcome"),
            "fp": bar_chart(f"False positives of {run.identity.run} by operation (char level)",
                            list(run.fp_by_operation.items()), "op")}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _figure(value: float | None, unit: str = "%") -> str:
    return "–" if value is None else _pct(value) if unit == "%" else f"{value:.2f}"


def _interval(interval: Any, unit: str = "%") -> str:
    return "–" if interval is None else f"[{_figure(interval.lo, unit)}, {_figure(interval.hi, unit)}]"


def environment() -> Environment:
    env = Environment(loader=PackageLoader("harness.reports.html", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(pct=_pct, figure=_figure, interval=_interval)
    return env


def render(report: ReportView) -> str:
    """The page, as text (UTF-8 when written). The same view model gives the same bytes."""
    script, style = _asset("report.js"), _asset("report.css")
    csp = (f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    template = environment().get_template("report.html.j2")
    return template.render(report=report, charts=[_charts(run) for run in report.runs], csp=csp,
                           script=Markup(script), style=Markup(style), data=Markup(script_json(payload(report))),
                           outcomes=OUTCOMES)
