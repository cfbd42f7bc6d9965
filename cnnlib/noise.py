"""The course's one noise rule, which every experiment's verdict comes from (`compare`,
`compare_to`, `compare_seeds`; `cnnlib.claims` turns the differences into verdicts): a
difference counts when it is larger than its threshold, t standard errors.
The standard error of a difference of two rates (accuracies, error rates)
measured on n images each is the binomial one, sqrt(p1(1-p1)/n1 +
p2(1-p2)/n2); where several seeds ran, the spread of each side's seeds adds
var/k in quadrature. For a quantity that is not a rate (steps to a target,
say) only the seed spread gives the noise, so one seed is never enough. t is
2 for binomial noise alone; where seed spreads enter, it is Student's t at
97.5 % with the Welch-Satterthwaite degrees of freedom of the terms (k - 1 for
each side's k seeds, infinitely many for a binomial term), since a spread
from a few seeds is itself uncertain: two sides of 3 seeds with equal spread
have 4 degrees of freedom, t = 2.78.
"""
import math
import statistics
from dataclasses import dataclass

BINOMIAL_T = 2.0  # the threshold, in standard errors, when the noise is binomial alone (z at 97.5 % is 1.96)


@dataclass(frozen=True)
class Difference:
    """A measured difference, oriented so that positive means "as the claim says",
    with its standard error and the degrees of freedom of that error (infinite for
    binomial noise alone; see the module docstring for the rule)."""

    value: float
    standard_error: float
    unit: str = "points"  # "points": value is a difference of rates, shown x100
    dof: float = math.inf

    @property
    def t(self):
        """How many standard errors make the threshold: 2, or Student's t for a spread from few seeds."""
        return max(BINOMIAL_T, student_t(0.975, self.dof)) if math.isfinite(self.dof) else BINOMIAL_T

    @property
    def threshold(self):
        """A smaller difference is noise."""
        return self.t * self.standard_error

    @property
    def decided(self):
        return math.isfinite(self.standard_error) and abs(self.value) > self.threshold

    @property
    def supports(self):
        return self.decided and self.value > 0

    @property
    def contradicts(self):
        return self.decided and self.value < 0

    def __sub__(self, other):
        """The difference of two independent differences (e.g. of two models' train-test gaps):
        their standard errors add in quadrature, their degrees of freedom by Welch-Satterthwaite."""
        if self.unit != other.unit:
            raise ValueError(f"cannot subtract a difference in {other.unit} from one in {self.unit}")
        terms = [(self.standard_error ** 2, self.dof), (other.standard_error ** 2, other.dof)]
        return Difference(self.value - other.value, math.hypot(self.standard_error, other.standard_error), self.unit,
                          welch_dof(terms))

    def __str__(self):
        scale = 100 if self.unit == "points" else 1
        unit = f" {self.unit}" if self.unit else ""
        if not math.isfinite(self.standard_error):
            return f"{scale * self.value:+.3g}{unit} (noise unknown: one seed)"
        dof = f", t {self.t:.2f} at {self.dof:.0f} dof" if math.isfinite(self.dof) else ""
        return f"{scale * self.value:+.1f}{unit}, noise ±{scale * self.threshold:.1f}{dof}"


@dataclass(frozen=True)
class Spread:
    """How much one run's value moves from seed to seed, measured once on `seeds` seeds of the same
    setting (sd: their sample standard deviation). A single run's value then carries sd^2 of seed
    noise, known with seeds - 1 degrees of freedom: what lets one seed decide (see `compare`)."""

    sd: float
    seeds: int
    source: str = ""  # where it was measured (a recorded reference)

    @classmethod
    def of(cls, values, source=""):
        values = list(values)
        if len(values) < 2:
            raise ValueError("a spread needs at least two seeds")
        return cls(statistics.stdev(values), len(values), source)


def compare(claimed, other, n, n_other=None, seeds=None, seeds_other=None, spread=None, spread_other=None):
    """The difference `claimed - other` between two rates measured on n (and n_other) images,
    with the course's standard error: binomial, plus the seed spread when seeds are given.

    claimed, other: the rates (e.g. test accuracies) in the order the claim expects
    the larger first; seeds, seeds_other: per-seed values, if several seeds ran
    (then claimed and other should be their means); spread, spread_other: a Spread
    measured once for a side that ran one seed here (its seed noise, with its degrees of freedom).
    """
    n_other = n if n_other is None else n_other
    if not (0 <= claimed <= 1 and 0 <= other <= 1) or n < 1 or n_other < 1:
        raise ValueError(f"compare takes rates in [0, 1] on at least one image, got {claimed}, {other}, n={n}")
    terms = [(claimed * (1 - claimed) / n, math.inf), (other * (1 - other) / n_other, math.inf)]
    terms += [_seed_term(values) for values in (seeds, seeds_other) if values is not None]
    terms += [(s.sd ** 2, s.seeds - 1) for s in (spread, spread_other) if s is not None]
    return _difference(claimed - other, terms, "points")


def compare_to(level, measured, n, spread=None):
    """`level - measured` for a rate measured on n images against a fixed level that is not
    measured (chance, say): the noise is the measured side's alone."""
    if not 0 <= measured <= 1 or n < 1:
        raise ValueError(f"compare_to takes a rate in [0, 1] on at least one image, got {measured}, n={n}")
    terms = [(measured * (1 - measured) / n, math.inf)] + ([(spread.sd ** 2, spread.seeds - 1)] if spread else [])
    return _difference(level - measured, terms, "points")


def compare_seeds(claimed, other, unit="", spread=None, spread_other=None):
    """The difference of the means of two per-seed measurements that are not rates
    (e.g. epochs to reach a target), with the standard error from their spread.
    spread, spread_other: a Spread of the same measurement measured once on more seeds (shipped
    records), which then gives that side's noise instead of its few seeds here: one seed can decide.
    With fewer than two seeds on a side and no spread for it the noise is unknown: no verdict."""
    terms = [_seed_term(values) if s is None else (s.sd ** 2 / len(values), s.seeds - 1)
             for values, s in ((list(claimed), spread), (list(other), spread_other))]
    return _difference(statistics.fmean(claimed) - statistics.fmean(other), terms, unit)


def _difference(value, terms, unit):
    variance = sum(v for v, _ in terms)
    return Difference(value, math.sqrt(variance), unit, welch_dof(terms))


def _seed_term(values):
    """(the variance of the mean of `values`, its degrees of freedom); infinite variance for one seed."""
    values = list(values)
    if len(values) < 2:
        return math.inf, 1
    return statistics.variance(values) / len(values), len(values) - 1


def welch_dof(terms):
    """Welch-Satterthwaite: the degrees of freedom of a sum of variance terms (variance, dof)."""
    total = sum(v for v, _ in terms)
    if not math.isfinite(total):
        return 1.0
    spread = sum(v * v / d for v, d in terms if math.isfinite(d) and d > 0)
    if spread == 0:
        return math.inf
    return total * total / spread


def student_t(p, dof):
    """The p quantile of Student's t with `dof` degrees of freedom (any positive real), by bisection
    on its distribution function."""
    if not 0.5 <= p < 1:
        raise ValueError(f"student_t takes p in [0.5, 1), got {p}")
    low, high = 0.0, 1.0
    while _t_cdf(high, dof) < p:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if _t_cdf(middle, dof) < p else (low, middle)
    return (low + high) / 2


def _t_cdf(x, dof):
    """P(T <= x) for x >= 0: 1 - I_{dof / (dof + x^2)}(dof / 2, 1 / 2) / 2."""
    return 1 - 0.5 * _incomplete_beta(dof / (dof + x * x), dof / 2, 0.5)


def _incomplete_beta(x, a, b):
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz's method)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast below this point: use the symmetry
        return 1 - _incomplete_beta(1 - x, b, a)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    c, d, f = 1.0, 0.0, 1.0
    for i in range(400):
        m = i // 2
        if i == 0:
            numerator = 1.0
        elif i % 2 == 0:
            numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1 + numerator * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + numerator / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(1 - c * d) < 1e-14:
            break
    return front * (f - 1)
