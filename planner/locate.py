"""Location-allocation core: p-median and capacitated facility location, solved to proven optimality.

Both problems start from a cost matrix ``c[i, j]`` (client i served from site j, e.g.
travel minutes) with client weights ``w[i]`` (e.g. pupils): dense (``np.inf`` where a pair
is not allowed) or long-form ``(client, site, cost)`` rows (absent pairs not allowed). A
coverage cap ``max_cost`` forbids every pair dearer than it.

p-median (:class:`PMedian`)
    Open exactly ``p`` sites (``fixed`` ones always open), serve every client from its
    nearest open allowed site, minimise Σ w_i c_i,site(i). Solved with the radius
    ("closest assignment") formulation of Elloumi (2010) / García, Labbé & Marín (2011)
    instead of the textbook one-variable-per-pair model. Per client, sort the distinct
    costs D_i^1 < D_i^2 < ...; ``z[i,k]`` = 1 when no open site is within D_i^k; the
    client's cost is D_i^1 + Σ_k (D_i^{k+1} − D_i^k) z[i,k]. In the sparse (chained)
    form used here::

        z[i,1] + Σ_{j: c_ij = D_i^1} y_j ≥ 1
        z[i,k] − z[i,k−1] + Σ_{j: c_ij = D_i^k} y_j ≥ 0      k ≥ 2
        Σ_j y_j = p,  y binary,  z ≥ 0

    so each allowed pair is one matrix entry, not one variable. Levels beyond the one
    holding the client's (m−p+1)-th nearest site, or its nearest fixed site, are never
    needed (an open site is always that close). On top of that the model is *truncated*:
    each client keeps only its first L_i levels, which is a relaxation (a client not
    covered within D_i^{L_i} is charged D_i^{L_i+1}, no more than its true cost). The
    LP relaxation is solved first and levels are added where the LP still leaves a
    client uncovered at its last level; then the MIP is solved, warm-started from the best
    solution known, and levels are added for clients served beyond their truncation until
    the true cost of the best solution meets the MIP's proven bound. Every bound used is
    that of a relaxation of the full model, so the final bound is a valid lower bound and
    "proven optimal" means proven for the full problem. A greedy + vertex-substitution
    (Teitz–Bart, best improvement) local search in numpy gives the starting solution and
    polishes every MIP solution.

Capacitated facility location (:class:`CapacitatedFacilityLocation`)
    Opening costs, capacities (in client-weight units), fixed sites, optional exact number
    of open sites, single-source (each client wholly to one site) or split assignment. A
    strong formulation with variables only for allowed pairs: Σ_j x_ij = 1, x_ij ≤ y_j,
    Σ_i w_i x_ij ≤ Q_j y_j, plus the aggregate capacity cut Σ_j Q_j y_j ≥ Σ_i w_i.

Solver status comes from :mod:`planner.model.backend` (never PuLP's "Optimal" for a
time-limited run). When all weighted costs (and opening costs) are integers the proven
bound is rounded up to the next integer, which is what lets a bound within the solver's
gap tolerance prove the exact optimum.

Internally costs are held as a dense ``clients × sites`` float array (``np.inf`` for
forbidden pairs): fine for thousands × hundreds; the sparse input is about what is
allowed, not about memory.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pulp

from planner.model.backend import SOLVERS, describe, relative_gap, run, within_tolerance

log = logging.getLogger(__name__)

__all__ = [
    "CapacitatedFacilityLocation",
    "CostData",
    "LocationResult",
    "PMedian",
    "orlib_pmedian_costs",
    "read_orlib_pmedian",
]

_Z_TOL = 1e-6  # an LP value of z above this means "not covered within the truncation"


# ---------------------------------------------------------------------------------------
# cost input


@dataclass(frozen=True)
class CostData:
    """Costs of serving clients from sites.

    Attributes
    ----------
    cost : numpy.ndarray
        ``(n_clients, n_sites)`` float array; ``np.inf`` where the pair is not allowed.
    clients : pandas.Index
        Client labels, in row order.
    sites : pandas.Index
        Site labels, in column order.
    """

    cost: np.ndarray
    clients: pd.Index
    sites: pd.Index

    @property
    def n_clients(self) -> int:
        """Number of clients."""
        return int(self.cost.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of candidate sites."""
        return int(self.cost.shape[1])

    @property
    def n_allowed(self) -> int:
        """Number of allowed (finite-cost) pairs."""
        return int(np.isfinite(self.cost).sum())

    @classmethod
    def from_matrix(
        cls,
        cost: np.ndarray | pd.DataFrame | Sequence[Sequence[float]],
        *,
        clients: Sequence[Any] | pd.Index | None = None,
        sites: Sequence[Any] | pd.Index | None = None,
        max_cost: float | None = None,
    ) -> CostData:
        """Dense costs: an array (``np.inf`` = not allowed) or a DataFrame (index clients, columns sites).

        Parameters
        ----------
        cost : array-like or pandas.DataFrame
            ``clients × sites`` costs, finite and ≥ 0 where allowed; ``np.inf`` (or NaN in a
            DataFrame) where not.
        clients, sites : sequence, optional
            Labels (default: the DataFrame's index / columns, else 0..n−1).
        max_cost : float, optional
            Coverage cap: pairs costing more are not allowed.
        """
        if isinstance(cost, pd.DataFrame):
            clients = cost.index if clients is None else clients
            sites = cost.columns if sites is None else sites
            arr = cost.to_numpy(dtype=np.float64, na_value=np.inf)
        else:
            arr = np.array(cost, dtype=np.float64)
            if arr.ndim != 2:
                raise ValueError(f"cost matrix must be 2-dimensional, got shape {arr.shape}")
            arr = np.where(np.isnan(arr), np.inf, arr)
        n, m = arr.shape
        cl = pd.Index(range(n)) if clients is None else pd.Index(clients)
        st = pd.Index(range(m)) if sites is None else pd.Index(sites)
        return cls._checked(arr, cl, st, max_cost)

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame,
        *,
        client_col: str = "client",
        site_col: str = "site",
        cost_col: str = "cost",
        clients: Sequence[Any] | pd.Index | None = None,
        sites: Sequence[Any] | pd.Index | None = None,
        max_cost: float | None = None,
    ) -> CostData:
        """Long-form costs: one row per allowed ``(client, site, cost)``; absent pairs are not allowed.

        Parameters
        ----------
        table : pandas.DataFrame
            Columns ``client_col``, ``site_col``, ``cost_col``; each pair at most once.
        clients, sites : sequence, optional
            All labels, in the order wanted (default: the labels in the table, sorted).
            Clients listed here but absent from the table have no allowed site.
        max_cost : float, optional
            Coverage cap: rows costing more are dropped.
        """
        missing = [c for c in (client_col, site_col, cost_col) if c not in table.columns]
        if missing:
            raise ValueError(f"cost table lacks column(s) {', '.join(missing)}")
        dup = table.duplicated([client_col, site_col])
        if dup.any():
            row = table.loc[dup].iloc[0]
            raise ValueError(f"cost table has pair ({row[client_col]!r}, {row[site_col]!r}) more than once")
        cl = _labels(table[client_col]) if clients is None else pd.Index(clients)
        st = _labels(table[site_col]) if sites is None else pd.Index(sites)
        if not cl.is_unique or not st.is_unique:
            raise ValueError("client and site labels must be unique")
        ci = cl.get_indexer(table[client_col])
        si = st.get_indexer(table[site_col])
        if (ci < 0).any() or (si < 0).any():
            raise ValueError("cost table names a client or site not in the given labels")
        arr = np.full((len(cl), len(st)), np.inf)
        arr[ci, si] = table[cost_col].to_numpy(dtype=np.float64)
        return cls._checked(arr, cl, st, max_cost)

    @classmethod
    def _checked(cls, arr: np.ndarray, cl: pd.Index, st: pd.Index, max_cost: float | None) -> CostData:
        n, m = arr.shape
        if len(cl) != n or len(st) != m:
            raise ValueError(f"{len(cl)} client and {len(st)} site labels for a {n}×{m} cost matrix")
        if n == 0 or m == 0:
            raise ValueError("cost matrix has no clients or no sites")
        if np.isnan(arr).any():
            raise ValueError("cost matrix has NaN (use np.inf for pairs not allowed)")
        if (arr < 0).any():
            raise ValueError("costs must be ≥ 0")
        if max_cost is not None:
            arr = np.where(arr > max_cost, np.inf, arr)
        arr.setflags(write=False)
        return cls(arr, cl, st)


def _labels(col: pd.Series) -> pd.Index:
    idx = pd.Index(pd.unique(col))
    try:
        return idx.sort_values()
    except TypeError:  # labels of mixed types: first appearance
        return idx


def _vector(values: Any, labels: pd.Index, what: str, default: float | None) -> np.ndarray:
    """Per-label values from None (default), a scalar, a mapping / Series by label, or an aligned array."""
    n = len(labels)
    if values is None:
        if default is None:
            raise ValueError(f"{what} are required")
        return np.full(n, float(default))
    if np.isscalar(values):
        return np.full(n, float(values))  # type: ignore[arg-type]
    if isinstance(values, Mapping | pd.Series):
        s = pd.Series(values) if not isinstance(values, pd.Series) else values
        missing = labels.difference(s.index)
        if len(missing):
            raise ValueError(f"{what} missing for {len(missing)} label(s), e.g. {missing[0]!r}")
        return s.reindex(labels).to_numpy(dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.shape[0] != n:
        raise ValueError(f"{what}: {arr.shape[0]} values for {n} labels")
    return arr


def _site_indices(fixed: Iterable[Any] | None, sites: pd.Index) -> np.ndarray:
    labels = list(fixed or [])
    idx = sites.get_indexer(labels) if labels else np.array([], dtype=np.int64)
    if (idx < 0).any():
        bad = labels[int(np.flatnonzero(idx < 0)[0])]
        raise ValueError(f"fixed site {bad!r} is not a candidate site")
    return np.unique(idx).astype(np.int64)


# ---------------------------------------------------------------------------------------
# result


@dataclass
class LocationResult:
    """A location-allocation answer and how trustworthy it is.

    Attributes
    ----------
    status : str
        ``optimal`` (proven within ``gap_rel``), ``feasible`` (a solution, not proven optimal:
        see ``gap``), ``infeasible`` or ``no_solution``.
    objective : float or None
        Total cost of the solution (recomputed from the costs, not the solver's number).
    bound : float or None
        Proven lower bound on the optimum (rounded up to an integer when all costs are integers).
    gap : float or None
        Relative gap ``(objective − bound) / objective``.
    open_sites : list
        Labels of the open sites, in site order.
    assignment : pandas.Series
        Client label → site label (the site taking the largest share when split).
    flows : pandas.DataFrame or None
        ``client, site, share`` when assignment may be split (not single-source).
    build_s, solve_s, heuristic_s : float
        Seconds spent building models (with preprocessing), in the solver, in the
        heuristics.
    solver : str
        Solver and version ("heuristic" when no solver ran).
    gap_rel : float
        Tolerance optimality was proven within.
    iterations : list of dict
        One entry per solver run: phase (lp / mip), rows, columns, build and solve seconds,
        status, objective and bound of that (possibly truncated) model.
    heuristic_objective : float or None
        Cost of the greedy + local-search start.
    message : str
        Why the status is what it is, when not simply optimal.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    open_sites: list[Any]
    assignment: pd.Series
    flows: pd.DataFrame | None = None
    build_s: float = 0.0
    solve_s: float = 0.0
    heuristic_s: float = 0.0
    solver: str = ""
    gap_rel: float = 0.0
    iterations: list[dict[str, Any]] = field(default_factory=list)
    heuristic_objective: float | None = None
    message: str = ""

    @property
    def proven_optimal(self) -> bool:
        """Whether optimality is proven (within ``gap_rel``)."""
        return self.status == "optimal"

    @property
    def has_solution(self) -> bool:
        """Whether ``open_sites`` / ``assignment`` describe a feasible solution."""
        return self.status in ("optimal", "feasible")

    def describe(self) -> str:
        """One plain line; never says optimal for an unproven solution."""
        text = describe(self.status, self.gap, self.gap_rel)
        if self.objective is not None:
            text += f"; objective {self.objective:g}"
        if self.bound is not None:
            text += f", bound {self.bound:g}"
        return text + (f" — {self.message}" if self.message else "")


def _assignment_series(data: CostData, site_of: np.ndarray) -> pd.Series:
    vals = [data.sites[j] if j >= 0 else None for j in site_of.tolist()]
    return pd.Series(vals, index=data.clients, name="site", dtype=object)


def _empty_result(
    data: CostData, status: str, message: str, gap_rel: float, bound: float | None = None, **kw: Any
) -> LocationResult:
    return LocationResult(status, None, bound, None, [], _assignment_series(data, np.full(data.n_clients, -1)),
                          gap_rel=gap_rel, message=message, **kw)  # fmt: skip


def _integral(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return bool(np.all(np.abs(v - np.round(v)) <= 1e-9 * np.maximum(1.0, np.abs(v))))


def _var(prob: pulp.LpProblem, name: str, low: float | None, up: float | None, cat: str) -> pulp.LpVariable:
    """A variable of ``prob`` (PuLP ≥ 3.3 ``add_variable``; plain ``LpVariable`` on older PuLP)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat)
    return pulp.LpVariable(name, low, up, cat)


def _finite(bound: float | None) -> float:
    return -math.inf if bound is None else bound


def _round_bound(bound: float | None, integral: bool) -> float | None:
    if bound is None or not integral:
        return bound
    return float(math.ceil(bound - 1e-6 * max(1.0, abs(bound))))


# ---------------------------------------------------------------------------------------
# p-median heuristics (numpy)


def _nearest_open(cost: np.ndarray, open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open allowed site per client (lowest index on ties; −1 when none) and its cost."""
    masked = np.where(open_mask[None, :], cost, np.inf)
    j = np.argmin(masked, axis=1)
    d = masked[np.arange(cost.shape[0]), j]
    j = np.where(np.isfinite(d), j, -1)
    return j, d


def _penalised(wcost: np.ndarray) -> np.ndarray:
    """Weighted costs with forbidden pairs at a penalty above any feasible total."""
    finite = np.where(np.isfinite(wcost), wcost, 0.0)
    pen = float(finite.max(axis=1).sum()) + 1.0
    return np.where(np.isfinite(wcost), wcost, pen)


def _greedy(pc: np.ndarray, p: int, fixed: np.ndarray) -> np.ndarray:
    """Greedy add: from the fixed sites, open the site cutting the total most, until p are open."""
    n, m = pc.shape
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    d1 = pc[:, is_open].min(axis=1) if is_open.any() else np.full(n, np.inf)
    while is_open.sum() < p:
        total = np.minimum(d1[:, None], pc).sum(axis=0)
        total[is_open] = np.inf
        j = int(np.argmin(total))
        is_open[j] = True
        d1 = np.minimum(d1, pc[:, j])
    return is_open


def _swap_search(pc: np.ndarray, is_open: np.ndarray, fixed: np.ndarray, max_rounds: int = 10_000) -> np.ndarray:
    """Vertex substitution (Teitz–Bart), best improvement: swap an open site for a closed one while that helps.

    For every (closed j in, open r out) pair at once: clients keep min(d1, c_j) unless r
    was their nearest, in which case they get min(d2, c_j).
    """
    n, m = pc.shape
    is_open = is_open.copy()
    fixed_mask = np.zeros(m, dtype=bool)
    fixed_mask[fixed] = True
    rows = np.arange(n)
    for _ in range(max_rounds):
        oi = np.flatnonzero(is_open)
        if len(oi) == 0 or len(oi) == m:
            break
        sub = pc[:, oi]
        k1 = np.argmin(sub, axis=1)
        d1 = sub[rows, k1]
        if len(oi) > 1:
            sub2 = sub.copy()
            sub2[rows, k1] = np.inf
            d2 = sub2.min(axis=1)
        else:
            d2 = np.full(n, pc.max() * n + 1.0)
        current = float(d1.sum())
        m1 = np.minimum(d1[:, None], pc)
        base = m1.sum(axis=0)  # total when j is added and nothing removed
        # extra when r is removed too, summed over the clients whose nearest is r
        # (sorted segments + reduceat: exact and in a fixed order, unlike np.add.at / BLAS)
        extra = np.minimum(d2[:, None], pc) - m1
        order = np.argsort(k1, kind="stable")
        owners, first = np.unique(k1[order], return_index=True)
        loss = np.zeros((len(oi), m))
        loss[owners] = np.add.reduceat(extra[order], first, axis=0)
        total = base[None, :] + loss
        total[:, is_open] = np.inf
        total[fixed_mask[oi], :] = np.inf
        r, j = np.unravel_index(int(np.argmin(total)), total.shape)
        if total[r, j] < current - 1e-9 * max(1.0, abs(current)):
            is_open[oi[r]] = False
            is_open[j] = True
        else:
            break
    return is_open


# ---------------------------------------------------------------------------------------
# p-median


@dataclass
class _Levels:
    """Per-client sorted cost levels of the radius formulation."""

    order: np.ndarray  # (n, m) sites sorted by (cost, index) per client; forbidden last
    starts: list[np.ndarray]  # per client: positions in order[i] where each level starts (+ end)
    values: list[np.ndarray]  # per client: distinct costs D_i^k
    full: np.ndarray  # per client: number of levels ever needed (K_i)
    fixed_cover: np.ndarray  # per client: the last needed level holds a fixed (always open) site
    guaranteed: np.ndarray  # per client: some open site is within its last needed level, whatever is opened


@dataclass
class PMedian:
    """The p-median problem: open exactly ``p`` sites, serve each client from its nearest open site.

    Build with :meth:`from_cost_matrix` or :meth:`from_cost_table`; solve with
    :meth:`solve` (proven optimum) or :meth:`heuristic`.
    """

    data: CostData
    weights: np.ndarray
    p: int
    fixed: np.ndarray

    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray | pd.DataFrame | Sequence[Sequence[float]],
        weights: Any = None,
        *,
        p: int,
        fixed: Iterable[Any] | None = None,
        max_cost: float | None = None,
        clients: Sequence[Any] | None = None,
        sites: Sequence[Any] | None = None,
    ) -> PMedian:
        """A p-median problem from a dense cost matrix.

        Parameters
        ----------
        cost : array-like or pandas.DataFrame
            ``clients × sites`` costs; ``np.inf`` (NaN in a DataFrame) where not allowed.
        weights : array-like, mapping or Series, optional
            Client weights ≥ 0 (default 1 each), aligned with rows or keyed by client label.
        p : int
            Number of sites to open (fixed ones included).
        fixed : iterable, optional
            Site labels that are open whatever (existing schools).
        max_cost : float, optional
            Coverage cap: no client is served from a site costing more.
        clients, sites : sequence, optional
            Labels (default: the DataFrame's, else positions).
        """
        data = CostData.from_matrix(cost, clients=clients, sites=sites, max_cost=max_cost)
        return cls._make(data, weights, p, fixed)

    @classmethod
    def from_cost_table(
        cls,
        table: pd.DataFrame,
        weights: Any = None,
        *,
        p: int,
        fixed: Iterable[Any] | None = None,
        max_cost: float | None = None,
        client_col: str = "client",
        site_col: str = "site",
        cost_col: str = "cost",
        clients: Sequence[Any] | None = None,
        sites: Sequence[Any] | None = None,
    ) -> PMedian:
        """A p-median problem from long-form ``(client, site, cost)`` rows; absent pairs are not allowed.

        Parameters are as in :meth:`from_cost_matrix` and :meth:`CostData.from_table`.
        """
        data = CostData.from_table(table, client_col=client_col, site_col=site_col, cost_col=cost_col,
                                   clients=clients, sites=sites, max_cost=max_cost)  # fmt: skip
        return cls._make(data, weights, p, fixed)

    @classmethod
    def _make(cls, data: CostData, weights: Any, p: int, fixed: Iterable[Any] | None) -> PMedian:
        w = _vector(weights, data.clients, "weights", 1.0)
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError("weights must be finite and ≥ 0")
        fx = _site_indices(fixed, data.sites)
        if int(p) != p or not 1 <= p <= data.n_sites:
            raise ValueError(f"p must be an integer between 1 and the number of sites ({data.n_sites}), got {p}")
        if len(fx) > p:
            raise ValueError(f"{len(fx)} fixed sites but p = {p}")
        return cls(data, w, int(p), fx)

    # -- evaluation -------------------------------------------------------------------

    def _weighted(self) -> np.ndarray:
        c = self.data.cost
        return np.where(np.isfinite(c), self.weights[:, None] * np.where(np.isfinite(c), c, 0.0), np.inf)

    def evaluate(self, open_sites: Iterable[Any]) -> float:
        """Total weighted cost of serving every client from its nearest open allowed site (inf if one has none).

        Parameters
        ----------
        open_sites : iterable
            Site labels.
        """
        mask = np.zeros(self.data.n_sites, dtype=bool)
        mask[_site_indices(open_sites, self.data.sites)] = True
        return self._cost_of(mask)[0]

    def _cost_of(self, is_open: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        j, d = _nearest_open(self.data.cost, is_open)
        if (j < 0).any():
            return math.inf, j, d
        return float(self.weights @ d), j, d

    def _result(self, is_open: np.ndarray, **kw: Any) -> LocationResult:
        obj, j, _ = self._cost_of(is_open)
        open_sites = self.data.sites[np.flatnonzero(is_open)].tolist()
        return LocationResult(objective=obj if math.isfinite(obj) else None, open_sites=open_sites,
                              assignment=_assignment_series(self.data, j), **kw)  # fmt: skip

    def _integral(self) -> bool:
        return _integral(self._weighted())

    # -- heuristic ----------------------------------------------------------------------

    def _heuristic_open(self) -> np.ndarray:
        pc = _penalised(self._weighted())
        return _swap_search(pc, _greedy(pc, self.p, self.fixed), self.fixed)

    def heuristic(self) -> LocationResult:
        """Greedy + vertex-substitution local search: a good solution fast, with no optimality proof.

        Returns
        -------
        LocationResult
            Status ``feasible`` (no bound) or ``infeasible`` when some client has no
            allowed open site in the solution found.
        """
        t0 = time.perf_counter()
        is_open = self._heuristic_open()
        secs = time.perf_counter() - t0
        obj = self._cost_of(is_open)[0]
        status = "feasible" if math.isfinite(obj) else "no_solution"
        msg = "" if math.isfinite(obj) else "some client has no allowed site among those opened"
        return self._result(is_open, status=status, bound=None, gap=None, heuristic_s=secs, solver="heuristic",
                            heuristic_objective=obj if math.isfinite(obj) else None, message=msg)  # fmt: skip

    # -- exact --------------------------------------------------------------------------

    def _levels(self) -> _Levels:
        c = self.data.cost
        n, m = c.shape
        order = np.argsort(c, axis=1, kind="stable")
        n_allowed = np.isfinite(c).sum(axis=1)
        fixed_mask = np.zeros(m, dtype=bool)
        fixed_mask[self.fixed] = True
        starts: list[np.ndarray] = []
        values: list[np.ndarray] = []
        full = np.zeros(n, dtype=np.int64)
        fixed_cover = np.zeros(n, dtype=bool)
        guaranteed = np.zeros(n, dtype=bool)
        guard = m - self.p  # position of the (m-p+1)-th nearest site: any p sites include one this near
        for i in range(n):
            a = int(n_allowed[i])
            pos = order[i, :a]
            vals = c[i, pos]
            st = np.flatnonzero(np.r_[True, vals[1:] != vals[:-1]]) if a else np.zeros(0, dtype=np.int64)
            starts.append(np.r_[st, a])
            values.append(vals[st])
            level_of_pos = np.repeat(np.arange(len(st)), np.diff(np.r_[st, a]))
            k = len(st)
            if a > guard:
                k = int(level_of_pos[guard]) + 1
                guaranteed[i] = True
            fpos = np.flatnonzero(fixed_mask[pos])
            if len(fpos) and int(level_of_pos[fpos[0]]) + 1 <= k:
                k = int(level_of_pos[fpos[0]]) + 1
                fixed_cover[i] = True
                guaranteed[i] = True
            full[i] = k
        return _Levels(order, starts, values, full, fixed_cover, guaranteed)

    def _build(self, lv: _Levels, trunc: np.ndarray, relax: bool) -> tuple[pulp.LpProblem, list[Any], list[list[Any]]]:
        """The (truncated) radius model: clients keep their first ``trunc[i]`` levels."""
        n, m = self.data.cost.shape
        w = self.weights
        prob = pulp.LpProblem("p_median_radius", pulp.LpMinimize)
        cat = pulp.LpContinuous if relax else pulp.LpInteger  # not LpBinary: PuLP resets its bounds to 0..1
        fixed_mask = np.zeros(m, dtype=bool)
        fixed_mask[self.fixed] = True
        y = [_var(prob, f"y_{j:07d}", 1 if fixed_mask[j] else 0, 1, cat) for j in range(m)]
        zs: list[list[Any]] = []
        obj: dict[Any, float] = {}
        constant = 0.0
        add = prob.addConstraint
        for i in range(n):
            vals = lv.values[i]
            if len(vals) == 0:
                zs.append([])
                continue
            constant += w[i] * vals[0]
            full, top = int(lv.full[i]), int(trunc[i])
            pos = lv.order[i]
            st = lv.starts[i]
            zi: list[Any] = []
            prev = None
            for k in range(top):
                last = k == full - 1
                if last and lv.fixed_cover[i]:
                    break  # a fixed site at this level: covered whatever
                terms = [(y[j], 1.0) for j in pos[st[k] : st[k + 1]].tolist()]
                z = None
                if not last:
                    z = _var(prob, f"z_{i:07d}_{k:05d}", 0, None, pulp.LpContinuous)
                    coef = float(w[i] * (vals[k + 1] - vals[k]))
                    if coef:
                        obj[z] = coef
                    terms.append((z, 1.0))
                    zi.append(z)
                if prev is not None:
                    terms.append((prev, -1.0))
                add(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintGE, f"r_{i:07d}_{k:05d}",
                                      1.0 if k == 0 else 0.0))  # fmt: skip
                prev = z
            zs.append(zi)
        add(pulp.LpConstraint(pulp.LpAffineExpression((v, 1.0) for v in y), pulp.LpConstraintEQ, "open_p", self.p))
        prob.setObjective(pulp.LpAffineExpression(obj, constant=float(constant)))
        return prob, y, zs

    def _warm(self, lv: _Levels, y: list[Any], zs: list[list[Any]], is_open: np.ndarray) -> None:
        """Set the MIP start: y from ``is_open``, z[i,k] = 1 while no open site is within level k."""
        for j, v in enumerate(y):
            v.setInitialValue(1.0 if is_open[j] else 0.0)
        _, d = _nearest_open(self.data.cost, is_open)
        for i, zi in enumerate(zs):
            if not zi:
                continue
            lvl = int(np.searchsorted(lv.values[i], d[i])) if math.isfinite(d[i]) else len(lv.values[i])
            for k, z in enumerate(zi):
                z.setInitialValue(1.0 if lvl > k else 0.0)

    def solve(
        self,
        solver: str = "highs",
        *,
        time_limit_s: float | None = None,
        gap_rel: float = 1e-4,
        threads: int | None = 1,
        msg: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> LocationResult:
        """Solve to proven optimality (within ``gap_rel``) or until ``time_limit_s``.

        Parameters
        ----------
        solver : {"highs", "cbc"}
            MILP solver, driven through PuLP.
        time_limit_s : float, optional
            Wall-clock limit for the whole solve (heuristic, model building, every solver
            run). When it runs out the best solution is returned as ``feasible`` with its gap.
        gap_rel : float
            Relative optimality tolerance (with integer costs any gap below 1 / objective is
            exact: the bound is rounded up).
        threads : int or None
            Solver threads.
        msg : bool
            Show solver logs.
        options : mapping, optional
            Extra solver options for every MIP run (see :func:`planner.model.backend.run`).

        Returns
        -------
        LocationResult
        """
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}: expected one of {', '.join(SOLVERS)}")
        t_start = time.perf_counter()
        deadline = t_start + time_limit_s if time_limit_s is not None else math.inf
        data = self.data
        n, m = data.cost.shape
        common: dict[str, Any] = {"gap_rel": gap_rel}

        no_site = np.flatnonzero(~np.isfinite(data.cost).any(axis=1))
        if len(no_site):
            return _empty_result(data, "infeasible", f"client {data.clients[no_site[0]]!r} has no allowed site",
                                 gap_rel, solver=solver)  # fmt: skip

        t0 = time.perf_counter()
        best_open = self._heuristic_open()
        best_obj = self._cost_of(best_open)[0]
        heuristic_s = time.perf_counter() - t0
        heuristic_objective = best_obj if math.isfinite(best_obj) else None
        log.debug("p-median heuristic: %s in %.2f s", best_obj, heuristic_s)

        if len(self.fixed) == self.p or self.p == m:  # nothing to choose
            status = "optimal" if math.isfinite(best_obj) else "infeasible"
            return self._result(best_open, status=status, bound=best_obj if math.isfinite(best_obj) else None,
                                gap=0.0 if math.isfinite(best_obj) else None, heuristic_s=heuristic_s,
                                solver="none needed", heuristic_objective=heuristic_objective,
                                message="" if status == "optimal" else "a client has no allowed open site",
                                **common)  # fmt: skip

        integral = self._integral()
        t0 = time.perf_counter()
        lv = self._levels()
        build_s = time.perf_counter() - t0
        solve_s = 0.0
        iterations: list[dict[str, Any]] = []
        lower = -math.inf
        solver_name = solver

        # initial truncation: the level of the heuristic's site for each client, plus one more;
        # a client of zero weight that is always covered plays no part; one that may not be
        # covered keeps all its levels (its last row is the cover constraint)
        active = (self.weights > 0) | ~lv.guaranteed
        trunc = np.where(active, lv.full, 0)
        _, d_h = _nearest_open(data.cost, best_open)
        for i in np.flatnonzero((self.weights > 0) & np.isfinite(d_h)).tolist():
            trunc[i] = min(int(lv.full[i]), int(np.searchsorted(lv.values[i], d_h[i])) + 2)

        def remaining() -> float | None:
            if deadline == math.inf:
                return None
            return deadline - time.perf_counter()

        def gap_closed() -> bool:
            return math.isfinite(best_obj) and math.isfinite(lower) and within_tolerance(best_obj, lower, gap_rel)

        stop_reason = ""
        # -- phase 1: LP relaxation, adding levels where the LP is cut off by the truncation
        while True:
            rem = remaining()
            if rem is not None and rem <= 0:
                stop_reason = "time limit reached"
                break
            t0 = time.perf_counter()
            prob, y, zs = self._build(lv, trunc, relax=True)
            b = time.perf_counter() - t0
            build_s += b
            r = run(prob, solver, time_limit_s=rem, gap_rel=gap_rel, threads=threads, mip=False, msg=msg)
            solve_s += r.seconds
            solver_name = r.solver
            iterations.append(_iteration("lp", prob, b, r))
            log.debug("p-median LP round: %s", iterations[-1])
            if r.status != "optimal":
                if r.status == "infeasible":
                    return _empty_result(data, "infeasible", "the LP relaxation is infeasible", gap_rel,
                                         build_s=build_s, solve_s=solve_s, heuristic_s=heuristic_s,
                                         solver=solver_name, iterations=iterations)  # fmt: skip
                break
            lower = max(lower, _finite(_round_bound(r.objective, integral)))
            if gap_closed():
                break
            bad = [i for i in range(n) if trunc[i] < lv.full[i] and zs[i] and (zs[i][-1].varValue or 0.0) > _Z_TOL]
            if not bad:
                break
            for i in bad:
                trunc[i] = min(int(lv.full[i]), max(int(trunc[i]) + 1, math.ceil(1.5 * trunc[i])))
        # -- phase 2: MIP, adding levels where a solution is served beyond its truncation
        while not gap_closed():
            rem = remaining()
            if rem is not None and rem <= 0:
                stop_reason = "time limit reached"
                break
            t0 = time.perf_counter()
            prob, y, zs = self._build(lv, trunc, relax=False)
            warm = math.isfinite(best_obj)
            if warm:
                self._warm(lv, y, zs, best_open)
            b = time.perf_counter() - t0
            build_s += b
            r = run(prob, solver, time_limit_s=rem, gap_rel=gap_rel, gap_abs=0.999 if integral else None,
                    threads=threads, mip=True, warm_start=warm, options=options, msg=msg)  # fmt: skip
            solve_s += r.seconds
            solver_name = r.solver
            iterations.append(_iteration("mip", prob, b, r))
            log.debug("p-median MIP round: %s", iterations[-1])
            if r.status == "infeasible":  # a relaxation of the full model
                return _empty_result(data, "infeasible", "no p sites serve every client within its allowed sites",
                                     gap_rel, build_s=build_s, solve_s=solve_s, heuristic_s=heuristic_s,
                                     solver=solver_name, iterations=iterations)  # fmt: skip
            if r.bound is not None:
                lower = max(lower, _finite(_round_bound(r.bound, integral)))
            if not r.has_solution:
                stop_reason = f"solver stopped without a solution ({r.status})"
                break
            is_open = np.array([(v.varValue or 0.0) > 0.5 for v in y])
            _, _, d = self._cost_of(is_open)
            t0 = time.perf_counter()
            polished = _swap_search(_penalised(self._weighted()), is_open, self.fixed)
            heuristic_s += time.perf_counter() - t0
            for cand in (is_open, polished):
                c_obj = self._cost_of(cand)[0]
                if c_obj < best_obj - 1e-9 * max(1.0, abs(c_obj)):
                    best_obj, best_open = c_obj, cand
            if gap_closed():
                break
            bad = [
                i
                for i in range(n)
                if active[i] and trunc[i] < lv.full[i] and not (math.isfinite(d[i]) and d[i] <= lv.values[i][trunc[i]])
            ]
            if not bad:
                # the model was exact for its solution: the solver stopped on its own tolerance or a limit
                if r.status != "optimal":
                    stop_reason = "solver stopped before proving optimality"
                break
            for i in bad:
                lvl = int(np.searchsorted(lv.values[i], d[i])) if math.isfinite(d[i]) else int(lv.full[i])
                trunc[i] = min(int(lv.full[i]), max(math.ceil(1.5 * trunc[i]), lvl + 1))

        lb = lower if math.isfinite(lower) else None
        if not math.isfinite(best_obj):
            return _empty_result(data, "no_solution", stop_reason or "no feasible solution found", gap_rel,
                                 build_s=build_s, solve_s=solve_s, heuristic_s=heuristic_s, solver=solver_name,
                                 iterations=iterations, bound=lb)  # fmt: skip
        proven = lb is not None and within_tolerance(best_obj, lb, gap_rel)
        status = "optimal" if proven else "feasible"
        gap = None if lb is None else max(0.0, best_obj - lb) / max(abs(best_obj), 1e-9)
        log.debug("p-median: %s after %d solver runs", status, len(iterations))
        return self._result(best_open, status=status, bound=lb, gap=gap, build_s=build_s, solve_s=solve_s,
                            heuristic_s=heuristic_s, solver=solver_name, iterations=iterations,
                            heuristic_objective=heuristic_objective, message="" if proven else stop_reason,
                            **common)  # fmt: skip


def _iteration(phase: str, prob: pulp.LpProblem, build_s: float, r: Any) -> dict[str, Any]:
    return {
        "phase": phase,
        "rows": prob.numConstraints(),
        "columns": prob.numVariables(),
        "build_s": build_s,
        "solve_s": r.seconds,
        "status": r.status,
        "objective": r.objective,
        "bound": r.bound,
    }


# ---------------------------------------------------------------------------------------
# capacitated facility location


@dataclass
class CapacitatedFacilityLocation:
    """Capacitated facility location: open sites (opening costs, capacities), assign clients.

    Minimise Σ_j f_j y_j + Σ_ij w_i c_ij x_ij subject to every client assigned (wholly to
    one site when ``single_source``), each open site's load Σ_i w_i x_ij within its
    capacity, fixed sites open, optionally exactly ``p`` sites open. Infinite capacities
    (the default) give the uncapacitated problem.
    """

    data: CostData
    weights: np.ndarray
    capacities: np.ndarray
    opening_costs: np.ndarray
    fixed: np.ndarray
    single_source: bool = True
    p: int | None = None

    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray | pd.DataFrame | Sequence[Sequence[float]],
        weights: Any = None,
        capacities: Any = None,
        opening_costs: Any = None,
        fixed: Iterable[Any] | None = None,
        max_cost: float | None = None,
        single_source: bool = True,
        *,
        p: int | None = None,
        clients: Sequence[Any] | None = None,
        sites: Sequence[Any] | None = None,
    ) -> CapacitatedFacilityLocation:
        """A capacitated facility location problem from a dense cost matrix.

        Parameters
        ----------
        cost : array-like or pandas.DataFrame
            ``clients × sites`` costs per unit of weight; ``np.inf`` where not allowed.
        weights : array-like, mapping or Series, optional
            Client demands ≥ 0 (default 1): they load capacity and multiply costs.
        capacities : array-like, mapping, Series or scalar, optional
            Site capacities in weight units (default unlimited; ``np.inf`` allowed).
        opening_costs : array-like, mapping, Series or scalar, optional
            Cost of opening each site (default 0); paid for fixed sites too.
        fixed : iterable, optional
            Site labels open whatever.
        max_cost : float, optional
            Coverage cap on the per-unit cost of a pair.
        single_source : bool
            Each client wholly to one site (binary assignment) or split (continuous).
        p : int, optional
            Exact number of open sites.
        clients, sites : sequence, optional
            Labels.
        """
        data = CostData.from_matrix(cost, clients=clients, sites=sites, max_cost=max_cost)
        return cls._make(data, weights, capacities, opening_costs, fixed, single_source, p)

    @classmethod
    def from_cost_table(
        cls,
        table: pd.DataFrame,
        weights: Any = None,
        capacities: Any = None,
        opening_costs: Any = None,
        fixed: Iterable[Any] | None = None,
        max_cost: float | None = None,
        single_source: bool = True,
        *,
        p: int | None = None,
        client_col: str = "client",
        site_col: str = "site",
        cost_col: str = "cost",
        clients: Sequence[Any] | None = None,
        sites: Sequence[Any] | None = None,
    ) -> CapacitatedFacilityLocation:
        """As :meth:`from_cost_matrix`, from long-form ``(client, site, cost)`` rows."""
        data = CostData.from_table(table, client_col=client_col, site_col=site_col, cost_col=cost_col,
                                   clients=clients, sites=sites, max_cost=max_cost)  # fmt: skip
        return cls._make(data, weights, capacities, opening_costs, fixed, single_source, p)

    @classmethod
    def _make(cls, data: CostData, weights: Any, capacities: Any, opening_costs: Any, fixed: Any,
              single_source: bool, p: int | None) -> CapacitatedFacilityLocation:  # fmt: skip
        w = _vector(weights, data.clients, "weights", 1.0)
        q = _vector(capacities, data.sites, "capacities", math.inf)
        f = _vector(opening_costs, data.sites, "opening costs", 0.0)
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError("weights must be finite and ≥ 0")
        if np.isnan(q).any() or (q < 0).any():
            raise ValueError("capacities must be ≥ 0")
        if not np.all(np.isfinite(f)) or (f < 0).any():
            raise ValueError("opening costs must be finite and ≥ 0")
        fx = _site_indices(fixed, data.sites)
        if p is not None and (int(p) != p or not max(1, len(fx)) <= p <= data.n_sites):
            raise ValueError(f"p must be an integer between max(1, fixed sites) and {data.n_sites}, got {p}")
        return cls(data, w, q, f, fx, bool(single_source), None if p is None else int(p))

    def _allowed(self) -> np.ndarray:
        ok = np.isfinite(self.data.cost)
        if self.single_source:  # a client heavier than a site's capacity cannot go there whole
            ok &= self.weights[:, None] <= self.capacities[None, :] + 1e-9
        return ok

    def evaluate(self, open_sites: Iterable[Any], assignment: Mapping[Any, Any] | pd.Series) -> float:
        """Total cost (opening + weighted assignment) of a single-source solution; inf if it breaks a rule.

        Parameters
        ----------
        open_sites : iterable
            Open site labels.
        assignment : mapping or Series
            Client label → site label.
        """
        data = self.data
        is_open = np.zeros(data.n_sites, dtype=bool)
        is_open[_site_indices(open_sites, data.sites)] = True
        if not is_open[self.fixed].all() or (self.p is not None and is_open.sum() != self.p):
            return math.inf
        a = pd.Series(assignment).reindex(data.clients)
        if a.isna().any():
            return math.inf
        j = data.sites.get_indexer(a.to_numpy())
        if (j < 0).any() or not is_open[j].all():
            return math.inf
        c = data.cost[np.arange(data.n_clients), j]
        if not np.isfinite(c).all():
            return math.inf
        load = np.bincount(j, weights=self.weights, minlength=data.n_sites)
        if (load > self.capacities + 1e-9).any():
            return math.inf
        return float(self.opening_costs[is_open].sum() + self.weights @ c)

    def _build(self) -> tuple[pulp.LpProblem, list[Any], dict[tuple[int, int], Any]]:
        data = self.data
        n, m = data.cost.shape
        w, q, f = self.weights, self.capacities, self.opening_costs
        ok = self._allowed()
        prob = pulp.LpProblem("facility_location", pulp.LpMinimize)
        fixed_mask = np.zeros(m, dtype=bool)
        fixed_mask[self.fixed] = True
        # integer 0..1, not LpBinary: PuLP resets a binary's bounds to 0..1, losing fixed sites
        y = [_var(prob, f"y_{j:07d}", 1 if fixed_mask[j] else 0, 1, pulp.LpInteger) for j in range(m)]
        cat = pulp.LpInteger if self.single_source else pulp.LpContinuous
        x: dict[tuple[int, int], Any] = {}
        obj: dict[Any, float] = {y[j]: float(f[j]) for j in range(m) if f[j]}
        by_site: list[list[tuple[Any, float]]] = [[] for _ in range(m)]
        add = prob.addConstraint
        ii, jj = np.nonzero(ok)
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            v = _var(prob, f"x_{i:07d}_{j:07d}", 0, 1, cat)
            x[i, j] = v
            coef = float(w[i] * data.cost[i, j])
            if coef:
                obj[v] = coef
            by_site[j].append((v, float(w[i])))
            add(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0), (y[j], -1.0)]), pulp.LpConstraintLE,
                                  f"link_{i:07d}_{j:07d}", 0.0))  # fmt: skip
        starts = np.searchsorted(ii, np.arange(n + 1))
        for i in range(n):
            terms = [(x[i, j], 1.0) for j in jj[starts[i] : starts[i + 1]].tolist()]
            add(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"assign_{i:07d}", 1.0))
        for j in range(m):
            if math.isfinite(q[j]) and by_site[j]:
                terms = [t for t in by_site[j] if t[1]] + [(y[j], -float(q[j]))]
                add(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"cap_{j:07d}", 0.0))
        if np.isfinite(q).all():
            add(pulp.LpConstraint(pulp.LpAffineExpression((y[j], float(q[j])) for j in range(m)),
                                  pulp.LpConstraintGE, "total_capacity", float(w.sum())))  # fmt: skip
        if self.p is not None:
            add(pulp.LpConstraint(pulp.LpAffineExpression((v, 1.0) for v in y), pulp.LpConstraintEQ, "open_p", self.p))
        prob.setObjective(pulp.LpAffineExpression(obj))
        return prob, y, x

    def solve(
        self,
        solver: str = "highs",
        *,
        time_limit_s: float | None = None,
        gap_rel: float = 1e-4,
        threads: int | None = 1,
        msg: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> LocationResult:
        """Solve the MILP; status, bound and gap as the solver proved them.

        Parameters are as in :meth:`PMedian.solve`.

        Returns
        -------
        LocationResult
            ``flows`` holds the shares when assignment may be split.
        """
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}: expected one of {', '.join(SOLVERS)}")
        data = self.data
        n, m = data.cost.shape
        ok = self._allowed()
        lonely = np.flatnonzero(~ok.any(axis=1))
        if len(lonely):
            return _empty_result(data, "infeasible", f"client {data.clients[lonely[0]]!r} has no allowed site",
                                 gap_rel, solver=solver)  # fmt: skip
        t0 = time.perf_counter()
        prob, y, x = self._build()
        build_s = time.perf_counter() - t0
        integral = _integral(np.where(ok, self.weights[:, None] * np.where(ok, data.cost, 0.0), 0.0)) and _integral(
            self.opening_costs
        )
        r = run(prob, solver, time_limit_s=time_limit_s, gap_rel=gap_rel, gap_abs=0.999 if integral else None,
                threads=threads, mip=True, options=options, msg=msg)  # fmt: skip
        iterations = [_iteration("mip", prob, build_s, r)]
        common: dict[str, Any] = {"build_s": build_s, "solve_s": r.seconds, "solver": r.solver,
                                  "iterations": iterations}  # fmt: skip
        bound = _round_bound(r.bound, integral)
        if not r.has_solution:
            msg_ = "the model is infeasible" if r.status == "infeasible" else "solver stopped without a solution"
            return _empty_result(data, r.status, msg_, gap_rel, bound=bound, **common)
        is_open = np.array([(v.varValue or 0.0) > 0.5 for v in y])
        share = np.zeros((n, m))
        for (i, j), v in x.items():
            share[i, j] = max(0.0, min(1.0, v.varValue or 0.0))
        if self.single_source:
            share = (share > 0.5).astype(np.float64)
        site_of = np.argmax(share, axis=1)  # largest share, lowest index on ties
        site_of = np.where(share[np.arange(n), site_of] > 0, site_of, -1)
        cost = np.where(ok, data.cost, 0.0)
        objective = float(self.opening_costs[is_open].sum() + (self.weights[:, None] * cost * share).sum())
        flows = None
        if not self.single_source:
            ci, sj = np.nonzero(share > 1e-9)
            flows = pd.DataFrame({"client": data.clients[ci], "site": data.sites[sj], "share": share[ci, sj]})
        proven = r.status == "optimal" or (bound is not None and within_tolerance(objective, bound, gap_rel))
        status = "optimal" if proven else "feasible"
        gap = relative_gap(objective, bound)
        return LocationResult(status, objective, bound, gap, data.sites[np.flatnonzero(is_open)].tolist(),
                              _assignment_series(data, site_of), flows, gap_rel=gap_rel,
                              message="" if proven else f"solver stopped before proving optimality ({r.status})",
                              **common)  # fmt: skip


# ---------------------------------------------------------------------------------------
# OR-Library p-median instances


def orlib_pmedian_costs(text: str) -> tuple[np.ndarray, int]:
    """Distance matrix and p of an OR-Library p-median instance (Beasley 1985).

    Parameters
    ----------
    text : str
        The file's text: ``n m p``, then ``m`` lines ``i j cost`` of an undirected graph with
        vertices numbered from 1. Where an edge appears more than once the last occurrence
        counts (OR-Library's convention).

    Returns
    -------
    tuple
        ``(cost, p)``: all-pairs shortest-path lengths (``n × n``, Dijkstra via
        ``scipy.sparse.csgraph``; ``np.inf`` between disconnected vertices) and the number
        of medians.
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import shortest_path

    tok = text.split()
    n, m, p = int(tok[0]), int(tok[1]), int(tok[2])
    e = np.array(tok[3 : 3 + 3 * m], dtype=np.float64).reshape(m, 3)
    a = e[:, 0].astype(np.int64) - 1
    b = e[:, 1].astype(np.int64) - 1
    if m and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
        raise ValueError("edge endpoint outside 1..n")
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    key = (lo * n + hi)[keep]
    cost = e[keep, 2]
    # last occurrence wins: unique over the reversed edge list keeps the first = the last
    _, first_rev = np.unique(key[::-1], return_index=True)
    last = len(key) - 1 - first_rev
    g = coo_array((cost[last], (key[last] // n, key[last] % n)), shape=(n, n)).tocsr()
    return shortest_path(g, method="D", directed=False), p


def read_orlib_pmedian(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an OR-Library ``pmedN.txt`` file: see :func:`orlib_pmedian_costs`."""
    return orlib_pmedian_costs(Path(path).read_text(encoding="ascii"))
