"""Render an EvaluationReport as one self-contained HTML file: Jinja2 template, Plotly figures, plotly.js inline.

Figures are built only from ``report.details``, so a report loaded back from JSON renders the same.
"""
from __future__ import annotations

import html as html_lib
from functools import lru_cache
from pathlib import Path

import jinja2
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

TEMPLATES = Path(__file__).parent / "templates"
REAL, SYNTH, HOLD = "#1f77b4", "#d62728", "#7f7f7f"
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png"}}


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    return get_plotlyjs()


def _fig_html(fig: go.Figure, div_id: str, top: int = 40) -> str:
    fig.update_layout(template="plotly_white", margin=dict(l=50, r=20, t=top, b=40), font=dict(family="sans-serif"))
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG,
                       include_mathjax=False)


def _missing(x) -> bool:
    return x is None or isinstance(x, jinja2.Undefined)


def _pct(x, digits=1):
    return "n/a" if _missing(x) else f"{100 * x:.{digits}f}%"


def _num(x, digits=3):
    return "n/a" if _missing(x) else f"{x:.{digits}f}"


def distribution_figures(details: dict) -> list[dict]:
    out = []
    for i, (col, d) in enumerate(list(details["univariate"].items())[:60]):
        keep = [k for k in range(len(d["labels"])) if d["real"][k] > 0 or d["synthetic"][k] > 0
                or (d["holdout"] and d["holdout"][k] > 0)]
        labels = [d["labels"][k] for k in keep]
        fig = go.Figure()
        fig.add_bar(name="real train", x=labels, y=[d["real"][k] for k in keep], marker_color=REAL)
        fig.add_bar(name="synthetic", x=labels, y=[d["synthetic"][k] for k in keep], marker_color=SYNTH)
        if d["holdout"]:
            fig.add_bar(name="real holdout", x=labels, y=[d["holdout"][k] for k in keep], marker_color=HOLD)
        title = f"{col}: accuracy {_pct(d['accuracy'])}"
        if d["accuracy_holdout"] is not None:
            title += f" (holdout {_pct(d['accuracy_holdout'])})"
        fig.update_layout(title=dict(text=html_lib.escape(title), font=dict(size=13)), barmode="group", height=300,
                          yaxis_tickformat=".0%", legend=dict(orientation="h", y=-0.35), showlegend=(i == 0))
        out.append({"column": col, "html": _fig_html(fig, f"dist-{i}")})
    return out


def pair_heatmap(details: dict) -> str | None:
    pairs = details["bivariate"]["pairs"]
    if not pairs:
        return None
    cols = list(details["univariate"])[:60]
    pos = {c: i for i, c in enumerate(cols)}
    z = np.full((len(cols), len(cols)), np.nan)
    for p in pairs:
        if p["a"] in pos and p["b"] in pos:
            z[pos[p["a"]], pos[p["b"]]] = z[pos[p["b"]], pos[p["a"]]] = p["accuracy"]
    fig = go.Figure(go.Heatmap(z=z, x=cols, y=cols, colorscale="RdYlGn", zmin=max(0.5, np.nanmin(z) if np.isfinite(z).any() else 0.5),
                               zmax=1, colorbar=dict(title="accuracy", tickformat=".0%"), hoverongaps=False))
    fig.update_layout(title="Bivariate accuracy per pair (1 - TVD)", height=max(400, 22 * len(cols) + 150),
                      yaxis_autorange="reversed")
    return _fig_html(fig, "pair-accuracy")


def correlation_heatmaps(details: dict) -> str:
    c = details["correlation"]
    cols = c["columns"]
    real, syn = np.array(c["cramers_v_real"]), np.array(c["cramers_v_synthetic"])
    fig = make_subplots(rows=1, cols=3, subplot_titles=("real train", "synthetic", "synthetic - real"),
                        horizontal_spacing=0.08)
    fig.add_trace(go.Heatmap(z=real, x=cols, y=cols, zmin=0, zmax=1, colorscale="Blues", showscale=False), 1, 1)
    fig.add_trace(go.Heatmap(z=syn, x=cols, y=cols, zmin=0, zmax=1, colorscale="Blues", showscale=False), 1, 2)
    fig.add_trace(go.Heatmap(z=syn - real, x=cols, y=cols, zmin=-0.5, zmax=0.5, colorscale="RdBu_r",
                             colorbar=dict(title="diff")), 1, 3)
    for k in (1, 2, 3):
        fig.update_yaxes(autorange="reversed", row=1, col=k, showticklabels=(k == 1))
    fig.update_layout(title="Association between columns (Cramér's V on the binned columns)",
                      height=max(420, 18 * len(cols) + 200))
    return _fig_html(fig, "correlation", top=80)


def discriminator_figure(details: dict) -> str | None:
    imp = details["discriminator"].get("importances") or {}
    if not imp:
        return None
    items = list(imp.items())[:15][::-1]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h", marker_color=SYNTH))
    fig.update_layout(title="What gives synthetic rows away: drop in discriminator AUC when a column is shuffled",
                      height=120 + 24 * len(items), xaxis_title="AUC drop")
    return _fig_html(fig, "discriminator")


def dcr_figure(details: dict) -> str | None:
    h = details["privacy"].get("dcr_histogram")
    if not h or len(h.get("edges", [])) < 2:
        return None
    e = np.array(h["edges"])
    mids = (e[:-1] + e[1:]) / 2
    fig = go.Figure()
    fig.add_scatter(x=mids, y=h["train"], name="to nearest train row", line=dict(color=REAL))
    fig.add_scatter(x=mids, y=h["holdout"], name="to nearest holdout row", line=dict(color=HOLD, dash="dash"))
    fig.update_layout(title="Distance of each synthetic row to its nearest real row (equal-sized samples)",
                      xaxis_title="mixed-type distance", yaxis_title="synthetic rows", height=340)
    return _fig_html(fig, "dcr")


def summary_sentences(m: dict, details: dict) -> dict:
    """The summary card, in plain words."""
    s = {}
    acc = f"Column by column the synthetic data matches the real training data to {_pct(m['univariate_accuracy'])}"
    if m["univariate_accuracy_holdout"] is not None:
        acc += f" (fresh real data: {_pct(m['univariate_accuracy_holdout'])})"
    acc += "."
    if any(c.get("real_rare_distinct") for c in details.get("coverage", {}).values()):
        acc += " " + details["meta"]["tail_note"]
    ceiling = m["bivariate_accuracy_holdout"]
    if m["bivariate_accuracy"] is not None and ceiling is not None and ceiling <= m["bivariate_floor"]:
        acc += (f" Pairs of columns: {_pct(m['bivariate_accuracy'])} ({_pct(m['bivariate_accuracy_at_holdout_size'])} "
                f"for a synthetic sample as small as the holdout, against {_pct(ceiling)} for the holdout itself). "
                f"The holdout is too small, or the relationships too weak, to rise above the floor of "
                f"{_pct(m['bivariate_floor'])} (right columns, no relationships), so dependence cannot be judged here.")
    elif m["bivariate_accuracy"] is not None:
        acc += (f" Pairs of columns: {_pct(m['bivariate_accuracy'])}, between the floor of "
                f"{_pct(m['bivariate_floor'])} (right columns, no relationships) and the ceiling of "
                f"{_pct(ceiling) if ceiling is not None else '100% (no holdout)'}"
                f" (fresh real data).")
        if ceiling is not None and m.get("bivariate_accuracy_at_holdout_size") is not None:
            acc += (f" A synthetic sample as small as the holdout scores "
                    f"{_pct(m['bivariate_accuracy_at_holdout_size'])}, the fair comparison with that ceiling.")
        if m["dependence_capture"] is not None:
            acc += f" It captures {_pct(m['dependence_capture'], 0)} of the real relationships between columns."
    s["accuracy"] = acc
    disc = m["discriminator_auc"]
    s["discriminator"] = (f"A classifier tells real from synthetic rows with AUC {_num(disc, 2)} "
                          f"(0.5 = cannot tell; fresh real data: {_num(m['discriminator_auc_holdout'], 2)}).")
    if disc is not None and disc < 0.4:
        s["discriminator"] += " An AUC well below 0.5 happens when synthetic rows duplicate training rows."
    if m["tstr_score"] is not None:
        metric = "AUC" if m["tstr_metric"] == "auc" else "R²"
        u = details.get("utility", {})
        s["utility"] = (f"A model trained on synthetic data predicts '{details['meta']['target']}' on real rows with "
                        f"{metric} {_num(m['tstr_score'])}, against {_num(m['trtr_score'])} when trained on real data"
                        f" (scored on {u.get('test_source', 'real rows')}).")
    else:
        s["utility"] = "No target column given, so utility (train-synthetic-test-real) was not measured."
    v = m["privacy_verdict"]
    if details["privacy"].get("dcr_share") is None:
        s["privacy"] = (f"Privacy verdict: {v.upper()}. Only exact copies were checked "
                        f"({_pct(m['exact_copy_share'])} of synthetic rows); give a holdout for the full tests.")
    else:
        s["privacy"] = (f"Verdict {v.upper()}. {_pct(m['dcr_share'])} of synthetic rows are closer to a training "
                        f"row than to an unseen real row (50% is ideal; fresh real rows score "
                        f"{_pct(m.get('dcr_share_holdout'))} at this split); {_pct(m['exact_copy_share'], 2)} are exact "
                        f"copies of training rows (fresh real data: {_pct(m['exact_copy_share_holdout'], 2)}).")
    return s


def _environment() -> jinja2.Environment:
    """The reports' templates (all extend _page.html) with the number filters they share."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]))
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    return env


def render_html(report) -> str:
    m, d = report.metrics, report.details
    env = _environment()
    template = env.get_template("report.html")
    bivariate_pairs = sorted(d["bivariate"]["pairs"], key=lambda p: p["accuracy"])[:15]
    return template.render(
        m=m, d=d, summary=summary_sentences(m, d), plotly_js=_plotly_js(),
        distributions=distribution_figures(d), pair_heatmap=pair_heatmap(d),
        correlation=correlation_heatmaps(d), discriminator=discriminator_figure(d), dcr=dcr_figure(d),
        worst_pairs=bivariate_pairs,
    )


def children_figures(metrics: dict) -> list[str]:
    """One bar chart per foreign key: share of parents per number of children, real vs synthetic (vs holdout)."""
    out = []
    for i, r in enumerate(metrics["relations"]):
        d = r.get("children_distribution")
        if not d:
            continue
        fig = go.Figure()
        fig.add_bar(name="real", x=d["bins"], y=d["real"], marker_color=REAL)
        fig.add_bar(name="synthetic", x=d["bins"], y=d["synthetic"], marker_color=SYNTH)
        fig.add_bar(name="real holdout", x=d["bins"], y=d["holdout"], marker_color=HOLD)
        title = f"{r['parent']} ← {r['child']}.{','.join(r['columns'])}: TV {_num(r['children_tv'])}"
        fig.update_layout(title=dict(text=html_lib.escape(title), font=dict(size=13)), barmode="group", height=300,
                          yaxis_tickformat=".0%", xaxis_title="children per parent",
                          legend=dict(orientation="h", y=-0.45), showlegend=not out)
        out.append(_fig_html(fig, f"children-{i}"))
    return out


def database_summary(metrics: dict) -> list[str]:
    """The database report's summary card, in plain words."""
    rels = [r for r in metrics["relations"] if not r.get("self_reference")]
    out = [f"Referential integrity: {_pct(metrics['integrity'])} of the synthetic foreign keys name a synthetic "
           f"parent (worst of {len(metrics['relations'])} foreign keys; 100% is required)."]
    if rels:
        worst = max(rels, key=lambda r: r["children_tv"])
        out.append(f"Children per parent: the largest total-variation distance from the real distribution is "
                   f"{_num(worst['children_tv'])} ({worst['parent']} ← {worst['child']}.{','.join(worst['columns'])}; "
                   f"real holdout: {_num(worst['children_tv_holdout'])}).")
    scored = [r for r in rels if r.get("bivariate") is not None]
    if scored:
        mean = lambda key: sum(r[key] for r in scored) / len(scored)  # noqa: E731
        out.append(f"Parent and child columns paired over joined rows: {_pct(mean('bivariate'))} on average over "
                   f"{len(scored)} foreign keys, between the floor of {_pct(mean('floor'))} (children attached to "
                   f"random parents) and the ceiling of {_pct(mean('ceiling'))} (real holdout).")
    return out


def render_database_html(metrics: dict) -> str:
    """The database report (``lookalike report-db -o``): cross-table metrics from ``evaluate_database``."""
    from lookalike.evaluate.relational import FEW_PARENTS

    env = _environment()
    pairs = max((r.get("pairs") or 0 for r in metrics["relations"]), default=0)
    return env.get_template("database.html").render(
        m=metrics, summary=database_summary(metrics), figures=children_figures(metrics), plotly_js=_plotly_js(),
        few_parents=FEW_PARENTS, max_pairs=metrics.get("max_pairs", pairs))
