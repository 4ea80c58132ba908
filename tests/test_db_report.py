"""`lookalike report-db ... -o report.html`: the HTML report's cross-table section shows exactly the numbers
evaluate_database computes (integrity, children-per-parent TV with its ceiling, bivariate accuracy with floor and
ceiling), with or without a holdout."""
from html.parser import HTMLParser

import numpy as np
import pytest

from db_data import bank_tables
from lookalike.cli import main
from lookalike.evaluate.relational import evaluate_database
from lookalike.relational.sources import load_source

TABLES = ("customers", "accounts", "cards")


class Cells(HTMLParser):
    """{relation: {metric: text}} from the rows of the cross-table table."""

    def __init__(self):
        super().__init__()
        self.cells, self.relation, self.metric = {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-relation" in a:
            self.relation = a["data-relation"]
            self.cells[self.relation] = {}
        if tag == "td" and "data-metric" in a and self.relation:
            self.metric = a["data-metric"]

    def handle_data(self, data):
        if self.metric:
            self.cells[self.relation][self.metric] = data.strip()
            self.metric = None


def write(tables, folder):
    folder.mkdir()
    for name in TABLES:
        tables[name].drop(columns=["home_branch", "branch_id"], errors="ignore").to_csv(folder / f"{name}.csv", index=False)


@pytest.fixture()
def databases(tmp_path):
    real, holdout, synthetic = bank_tables(seed=0), bank_tables(seed=1), bank_tables(seed=2)
    rng = np.random.default_rng(0)
    # a flawed synthetic database: accounts attached to random customers, a tenth of the cards orphaned
    synthetic["accounts"]["customer_id"] = rng.permutation(synthetic["accounts"]["customer_id"].to_numpy())
    cards = synthetic["cards"]
    cards.loc[cards.index[: len(cards) // 10], "account_id"] = 10_000
    for name, t in (("real", real), ("holdout", holdout), ("synthetic", synthetic)):
        write(t, tmp_path / name)
    return tmp_path


def expected(tmp_path, holdout: bool):
    real = load_source(str(tmp_path / "real"))
    syn = load_source(str(tmp_path / "synthetic"), schema=real.schema).tables
    hol = load_source(str(tmp_path / "holdout"), schema=real.schema).tables if holdout else None
    return evaluate_database(real.tables, syn, real.schema, holdout=hol)


@pytest.mark.parametrize("holdout", [False, True])
def test_cross_table_section_shows_evaluates_numbers(databases, holdout):
    tmp = databases
    args = ["report-db", str(tmp / "real"), str(tmp / "synthetic"), "-o", str(tmp / "db.html")]
    if holdout:
        args += ["--holdout", str(tmp / "holdout")]
    assert main(args) == 0
    html = (tmp / "db.html").read_text()
    assert 'id="cross-table"' in html and "http://" not in html.split("<script>")[0]
    parser = Cells()
    parser.feed(html)
    m = expected(tmp, holdout)
    assert len(m["relations"]) == 2 and len(parser.cells) == 2
    pct = lambda x: "n/a" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    for r in m["relations"]:
        shown = parser.cells[f"{r['parent']}<-{r['child']}.{','.join(r['columns'])}"]
        assert shown["integrity"] == pct(r["integrity"])
        assert shown["children_tv"] == f"{r['children_tv']:.3f}"
        assert shown["children_tv_holdout"] == f"{r['children_tv_holdout']:.3f}"
        for key in ("bivariate", "floor", "ceiling"):
            assert shown[key] == pct(r[key]), key
    cards = next(r for r in m["relations"] if r["child"] == "cards")
    assert cards["integrity"] == pytest.approx(0.9, abs=0.01)  # the orphaned tenth shows
    accounts = next(r for r in m["relations"] if r["child"] == "accounts")
    assert accounts["bivariate"] < accounts["ceiling"]  # random customers lose the segment x balance relation
    assert html.count('id="children-') == 2  # one children-per-parent figure per foreign key
    assert ("real holdout database given" in html) == holdout


def test_report_db_refuses_a_wrong_output_before_reading(databases, capsys):
    tmp = databases
    assert main(["report-db", str(tmp / "real"), str(tmp / "synthetic"), "-o", str(tmp / "db.txt")]) == 1
    assert "unsupported output type" in capsys.readouterr().err
    (tmp / "db.html").write_text("keep")
    assert main(["report-db", str(tmp / "real"), str(tmp / "synthetic"), "-o", str(tmp / "db.html")]) == 1
    assert (tmp / "db.html").read_text() == "keep"
