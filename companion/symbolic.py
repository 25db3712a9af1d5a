"""Symbolic derivations of shrinkage with sympy, returned as expressions with their steps.

Each function derives one result of the chapter "Shrinkage, derived" and returns a
:class:`Derivation`: the named results (sympy expressions in positive symbols such as
``sigma``, ``tau`` and ``n``), the intermediate steps for display, and the symbols, so
that a result can be printed as LaTeX, substituted, or turned into a NumPy function and
checked against a simulation. This module needs sympy only.

>>> from companion import symbolic
>>> weight = symbolic.optimal_pooling_weight(exact=False)["weight"]
>>> weight
n*tau**2/(n*tau**2 + sigma**2)
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import sympy as sp
from sympy.simplify.simplify import factor_sum

from companion._checks import as_real_array, positive_integer

__all__ = [
    "Derivation",
    "Step",
    "noncentered_jacobian",
    "normal_normal_posterior",
    "optimal_pooling_weight",
    "random_intercept_estimates",
]


@dataclass(frozen=True)
class Step:
    """One displayed step of a derivation: ``lhs = expression`` (or just the expression).

    Attributes
    ----------
    description : str
        What the step does, in words; ``$...$`` marks inline math (rendered outside
        ``\\text``, since MathJax does not read dollars inside it).
    expression : sympy.Basic
        The step's expression or equation.
    lhs : str
        LaTeX for the left-hand side, or "" when ``expression`` stands alone.
    """

    description: str
    expression: sp.Basic
    lhs: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a string, got {self.description!r}")
        if not isinstance(self.expression, sp.Basic | sp.MatrixBase):
            raise TypeError(f"expression must be a sympy expression, got {self.expression!r}")
        if not isinstance(self.lhs, str):
            raise TypeError(f"lhs must be a string, got {self.lhs!r}")

    def latex(self) -> str:
        """The step as one line of an ``aligned`` block."""
        body = sp.latex(self.expression)
        if self.lhs:
            body = f"{self.lhs} = {body}"
        pieces = self.description.split("$")
        label = "".join(
            piece if k % 2 else rf"\text{{{piece}}}" for k, piece in enumerate(pieces) if piece
        )
        return rf"&{label}\text{{:}} && {body}"


@dataclass(frozen=True)
class Derivation:
    """A symbolic derivation: its named results, the steps leading to them, its symbols.

    Attributes
    ----------
    results : Mapping[str, sympy.Basic]
        The results by name, e.g. ``"mean"`` and ``"variance"``; also ``derivation[name]``.
    steps : tuple of Step
        The derivation in order, for display.
    symbols : Mapping[str, sympy.Symbol]
        The scalar symbols the results use, by name (the keyword names of
        :meth:`function`); index labels of sums are not included.
    """

    results: Mapping[str, sp.Basic]
    steps: tuple[Step, ...]
    symbols: Mapping[str, sp.Symbol] = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.results, Mapping) or not all(
            isinstance(k, str) and isinstance(v, sp.Basic | sp.MatrixBase)
            for k, v in self.results.items()
        ):
            raise TypeError(f"results must map names to sympy expressions, got {self.results!r}")
        if not isinstance(self.steps, tuple) or not all(isinstance(s, Step) for s in self.steps):
            raise TypeError(f"steps must be a tuple of Step, got {self.steps!r}")
        if not isinstance(self.symbols, Mapping) or not all(
            isinstance(k, str) and isinstance(v, sp.Symbol) for k, v in self.symbols.items()
        ):
            raise TypeError(f"symbols must map names to sympy symbols, got {self.symbols!r}")

    def __getitem__(self, name: str) -> sp.Basic:
        try:
            return self.results[name]
        except KeyError:
            raise KeyError(f"no result {name!r}; the results are {sorted(self.results)}") from None

    def function(self, name: str) -> Callable[..., np.ndarray]:
        """The result ``name`` as a NumPy function of keyword arguments named after its symbols.

        Parameters
        ----------
        name : str
            One of the keys of :attr:`results` (a scalar expression).

        Returns
        -------
        callable
            ``f(**values)`` evaluating the expression; arguments are finite real numbers
            or arrays of them that broadcast like NumPy arrays, and every free symbol of
            the result must be given.

        Raises
        ------
        ValueError
            If ``name`` is not a result, or not a scalar expression in plain symbols;
            the returned function raises ValueError or TypeError naming an argument that
            is NaN, infinite, empty or not a real number, and TypeError if arguments are
            missing or unexpected.

        Examples
        --------
        >>> weight = optimal_pooling_weight(exact=False).function("weight")
        >>> float(weight(n=4, sigma=2.0, tau=1.0))
        0.5
        """
        if not isinstance(name, str) or name not in self.results:
            raise ValueError(
                f"name must be one of the results {sorted(self.results)}, got {name!r}"
            )
        expression = self.results[name]
        if not isinstance(expression, sp.Expr) or expression.atoms(sp.Indexed):
            raise ValueError(f"{name} is not a scalar expression in plain symbols")
        symbols = sorted(expression.free_symbols, key=str)
        names = [str(s) for s in symbols]
        compiled = sp.lambdify(symbols, expression, modules="numpy")

        def evaluate(**values: float | np.ndarray) -> np.ndarray:
            missing = sorted(set(names) - set(values))
            unknown = sorted(set(values) - set(names))
            if missing or unknown:
                raise TypeError(
                    f"{name} needs the keyword arguments {names}; "
                    f"missing {missing}, unexpected {unknown}"
                )
            arrays = [as_real_array(values[n], n) for n in names]
            return compiled(*arrays)

        return evaluate

    def latex(self) -> str:
        r"""The steps as one LaTeX ``aligned`` block (one line per step, described in text)."""
        lines = [step.latex() for step in self.steps]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"


def _derivation(
    results: dict[str, sp.Basic],
    steps: list[Step],
    *,
    extra_symbols: tuple[sp.Symbol, ...] = (),
) -> Derivation:
    """Collect the scalar symbols of the results (and ``extra_symbols``) into a Derivation."""
    symbols: dict[str, sp.Symbol] = {str(s): s for s in extra_symbols}
    for expression in results.values():
        labels = {indexed.base.label for indexed in expression.atoms(sp.Indexed)}
        for symbol in expression.free_symbols - labels:
            if isinstance(symbol, sp.Symbol):
                symbols[str(symbol)] = symbol
    return Derivation(
        results=MappingProxyType(results),
        steps=tuple(steps),
        symbols=MappingProxyType(dict(sorted(symbols.items()))),
    )


def _pull_out_constants(expression: sp.Expr) -> sp.Expr:
    """Expand, split sums of sums of terms, and move factors that do not depend on the
    summation index outside each sum, e.g. Sum(2*beta*x[i]) -> 2*beta*Sum(x[i])."""

    def split(summation: sp.Sum) -> sp.Expr:
        body = sp.expand(summation.function)
        terms = body.args if isinstance(body, sp.Add) else (body,)
        return sp.Add(*(factor_sum(sp.Sum(term, *summation.limits)) for term in terms))

    return sp.expand(sp.expand(expression).replace(lambda e: isinstance(e, sp.Sum), split))


def _complete_the_square(log_density: sp.Expr, variable: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """Precision and mean of the Normal density proportional to exp(log_density) in variable."""
    quadratic, linear, _ = sp.Poly(sp.expand(log_density), variable).all_coeffs()
    precision = sp.simplify(-2 * quadratic)
    return precision, sp.simplify(linear / precision)


def normal_normal_posterior(*, data: Literal["single", "group_mean"] = "single") -> Derivation:
    r"""Posterior of a Normal mean under a Normal prior, derived by completing the square.

    ``data="single"``: a latent u ~ Normal(mu_0, sigma_0) (mean, sd) is observed once with
    noise, y | u ~ Normal(u, sigma). The log posterior is quadratic in u; its coefficients give
    the posterior precision 1/sigma_0^2 + 1/sigma^2 and the mean, a precision-weighted
    average t mu_0 + (1 - t) y with prior weight t = 1 / (1 + rho^2), rho = sigma_0 / sigma.

    ``data="group_mean"``: a group mean theta ~ Normal(mu, tau) with n observations
    y_i | theta ~ Normal(theta, sigma). The data enter only through their average ybar,
    which acts as one observation with variance sigma^2 / n; the posterior mean is
    B mu + (1 - B) ybar with shrinkage factor B = (sigma^2/n) / (sigma^2/n + tau^2), whose
    limits (tau -> 0, tau -> oo, n -> oo) are complete pooling, no pooling and no pooling.

    Parameters
    ----------
    data : {"single", "group_mean"}
        One noisy observation of u, or n observations of a group mean theta.

    Returns
    -------
    Derivation
        Results ``"precision"``, ``"mean"``, ``"variance"`` and ``"prior_weight"`` (the
        weight t of mu_0) for ``"single"``; ``"precision"``, ``"mean"``, ``"variance"``
        and ``"shrinkage"`` (B) for ``"group_mean"``. Symbols: ``u``, ``y``, ``mu_0``,
        ``sigma_0``, ``sigma``, ``rho`` or ``theta``, ``ybar``, ``mu``, ``tau``,
        ``sigma``, ``n``.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 2.5 (eqs 2.9-2.12)
    and Section 5.4; the chapter "Shrinkage, derived", first section.

    Examples
    --------
    >>> posterior = normal_normal_posterior()
    >>> posterior["mean"]
    (mu_0*sigma**2 + sigma_0**2*y)/(sigma**2 + sigma_0**2)
    >>> normal_normal_posterior(data="group_mean")["shrinkage"]
    sigma**2/(n*tau**2 + sigma**2)
    """
    if data == "single":
        return _single_observation_posterior()
    if data == "group_mean":
        return _group_mean_posterior()
    raise ValueError(f"data must be 'single' or 'group_mean', got {data!r}")


def _single_observation_posterior() -> Derivation:
    u, y, mu_0 = sp.symbols("u y mu_0", real=True)
    sigma_0, sigma, rho = sp.symbols("sigma_0 sigma rho", positive=True)
    log_prior = -((u - mu_0) ** 2) / (2 * sigma_0**2)
    log_likelihood = -((y - u) ** 2) / (2 * sigma**2)
    precision, mean = _complete_the_square(log_prior + log_likelihood, u)
    variance = sp.simplify(1 / precision)
    prior_weight = sp.simplify(sigma**2 / (sigma**2 + sigma_0**2))
    in_rho = 1 / (1 + rho**2)
    steps = [
        Step(r"log posterior, up to a constant", log_prior + log_likelihood, r"\log p(u \mid y)"),
        Step(r"coefficient of $-u^2/2$ (precision)", precision, r"1/V"),
        Step(r"coefficient of $u$ over the precision", mean, r"E[u \mid y]"),
        Step(r"posterior variance", variance, r"V[u \mid y]"),
        Step(r"weight of $\mu_0$", prior_weight, "t"),
        Step(r"with $\rho = \sigma_0/\sigma$", in_rho, "t"),
    ]
    results = {
        "precision": precision,
        "mean": mean,
        "variance": variance,
        "prior_weight": prior_weight,
    }
    return _derivation(results, steps, extra_symbols=(rho,))


def _group_mean_posterior() -> Derivation:
    theta, mu = sp.symbols("theta mu", real=True)
    ybar = sp.Symbol("ybar", real=True)
    tau, sigma = sp.symbols("tau sigma", positive=True)
    n = sp.Symbol("n", positive=True, integer=True)
    i = sp.Symbol("i", positive=True, integer=True)
    y = sp.IndexedBase("y")
    log_prior = -((theta - mu) ** 2) / (2 * tau**2)
    log_likelihood = -sp.Sum((y[i] - theta) ** 2, (i, 1, n)) / (2 * sigma**2)
    log_posterior = log_prior + log_likelihood
    # Expanding the square, the data enter through sum(y_i) = n ybar (and sum(y_i^2),
    # which does not involve theta): ybar is sufficient.
    in_ybar = _pull_out_constants(log_posterior).doit().subs(sp.Sum(y[i], (i, 1, n)), n * ybar)
    precision, mean = _complete_the_square(in_ybar, theta)
    variance = sp.simplify(1 / precision)
    shrinkage = sp.simplify(sp.expand(mean).coeff(mu))
    limits = [
        (tau, 0, sp.limit(shrinkage, tau, 0)),
        (tau, sp.oo, sp.limit(shrinkage, tau, sp.oo)),
        (n, sp.oo, sp.limit(shrinkage, n, sp.oo)),
    ]
    steps = [
        Step("log posterior, up to a constant", log_posterior, r"\log p(\theta \mid y)"),
        Step(r"expanded, with $\sum_i y_i = n\bar y$", in_ybar, r"\log p(\theta \mid y)"),
        Step("precision", precision, r"1/V"),
        Step("posterior mean", mean, r"E[\theta \mid y]"),
        Step("posterior variance", variance, r"V[\theta \mid y]"),
        Step(r"shrinkage factor (weight of $\mu$)", shrinkage, "B"),
    ]
    for variable, point, value in limits:
        steps.append(Step("limit", value, sp.latex(sp.Limit(sp.Symbol("B"), variable, point))))
    results = {"precision": precision, "mean": mean, "variance": variance, "shrinkage": shrinkage}
    return _derivation(results, steps)


def optimal_pooling_weight(*, exact: bool) -> Derivation:
    r"""The weight w of a group's mean that minimises the expected squared error.

    The estimate of a group's true mean theta_j is w ybar_j + (1 - w) m, where ybar_j is
    the mean of its n observations (variance sigma^2 / n around theta_j), theta_j is
    drawn around mu with sd tau, and m stands for the grand mean. With ``exact=False``
    m = mu is known (the textbook approximation of Gelman & Hill, eq. 12.1):
    w = 1 / (1 + sigma^2 / (n tau^2)). With ``exact=True`` m is an estimate of mu with
    its own independent error of variance V; the minimiser is
    w = (tau^2 + V) / (tau^2 + V + sigma^2 / n), and with V = tau^2 / n (the setting of
    the chapter's derivation) it becomes 1 / (1 + sigma^2 / ((n + 1) tau^2)).

    Parameters
    ----------
    exact : bool
        Account for the error of the grand-mean estimate (True) or treat mu as known.

    Returns
    -------
    Derivation
        Results ``"weight"`` (in ``n``, ``sigma``, ``tau``) and ``"risk"`` (the expected
        squared error as a function of ``w``, ``n``, ``sigma``, ``tau``); with ``exact``
        also ``"weight_general"`` (in ``V`` as well).

    References
    ----------
    Gelman, A. and Hill, J. (2007). *Data Analysis Using Regression and
    Multilevel/Hierarchical Models*, eq. 12.1; the chapter "Shrinkage, derived",
    section "The optimal pooling weight".

    Examples
    --------
    >>> optimal_pooling_weight(exact=True)["weight"]
    tau**2*(n + 1)/(n*tau**2 + sigma**2 + tau**2)
    """
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be True or False, got {exact!r}")
    n, sigma, tau, w, variance = sp.symbols("n sigma tau w V", positive=True)
    # Independent zero-mean errors: the group's deviation from mu, the noise of its
    # mean, and (exact case) the error of the grand-mean estimate.
    deviation, noise, grand_error = sp.symbols("a e d", real=True)
    variances = {deviation: tau**2, noise: sigma**2 / n, grand_error: variance}
    grand_mean_error = grand_error if exact else sp.Integer(0)
    error = (1 - w) * deviation - w * noise - (1 - w) * grand_mean_error
    # The error is linear in independent zero-mean terms: E[error^2] = sum coef^2 var.
    risk_general = sp.Add(*(sp.diff(error, term) ** 2 * var for term, var in variances.items()))
    general_weight = sp.factor(sp.solve(sp.diff(risk_general, w), w)[0])
    steps = [
        Step(r"error of $w\bar y_j + (1-w)m$", error, r"\theta_j - \hat\theta_j"),
        Step("expected squared error", risk_general, "R(w)"),
        Step("set the derivative to zero", general_weight, "w^*"),
    ]
    results: dict[str, sp.Basic] = {}
    if exact:
        grand_mean_variance = tau**2 / n
        weight = sp.factor(general_weight.subs(variance, grand_mean_variance))
        risk = risk_general.subs(variance, grand_mean_variance)
        steps.append(Step(r"with $V = \tau^2/n$", 1 / (1 + sigma**2 / ((n + 1) * tau**2)), "w^*"))
        results["weight_general"] = general_weight
    else:
        weight, risk = general_weight, risk_general
        steps.append(Step("rearranged", 1 / (1 + sigma**2 / (n * tau**2)), "w^*"))
    results["weight"] = weight
    results["risk"] = risk
    return _derivation(results, steps)


def noncentered_jacobian(J: int) -> Derivation:
    r"""Jacobian of the non-centred map (mu, tau, z_1..z_J) -> (mu, tau, theta_1..theta_J).

    theta_j = mu + tau z_j. The Jacobian matrix is triangular with determinant tau^J, so
    p(mu, tau, z) = p(mu, tau, theta) tau^J: with theta_j ~ Normal(mu, tau) the z_j are
    standard Normal whatever tau is.

    Parameters
    ----------
    J : int
        Number of groups (>= 1).

    Returns
    -------
    Derivation
        Results ``"jacobian"`` (the (J + 2) x (J + 2) matrix), ``"determinant"`` and
        ``"transformed_log_density"`` (log p(z_j | mu, tau) from the centred density,
        for one group: the Normal(mu, tau) log density at mu + tau z plus log tau).

    References
    ----------
    Papaspiliopoulos, O., Roberts, G. O. and Skold, M. (2007). A general framework for
    the parametrization of hierarchical models. *Statistical Science* 22(1), 59-73;
    the chapter "Shrinkage, derived".

    Examples
    --------
    >>> noncentered_jacobian(3)["determinant"]
    tau**3
    """
    J = positive_integer(J, "J")
    mu = sp.Symbol("mu", real=True)
    tau = sp.Symbol("tau", positive=True)
    z = sp.symbols(f"z_1:{J + 1}", real=True)
    transform = sp.Matrix([mu, tau, *(mu + tau * z_j for z_j in z)])
    jacobian = transform.jacobian([mu, tau, *z])
    determinant = sp.factor(jacobian.det())
    theta, one_z = sp.Symbol("theta", real=True), sp.Symbol("z", real=True)
    centred = -((theta - mu) ** 2) / (2 * tau**2) - sp.log(tau) - sp.log(2 * sp.pi) / 2
    transformed = sp.simplify(centred.subs(theta, mu + tau * one_z) + sp.log(tau))
    steps = [
        Step("transformation", mu + tau * sp.Symbol("z_j"), r"\theta_j"),
        Step("Jacobian determinant", determinant, r"\det J"),
        Step(r"log density of $z_j$", transformed, r"\log p(z_j \mid \mu, \tau)"),
    ]
    results = {
        "jacobian": jacobian,
        "determinant": determinant,
        "transformed_log_density": transformed,
    }
    return _derivation(results, steps)


def random_intercept_estimates() -> Derivation:
    r"""Stationary equations of the random-intercept model for alpha_j, beta and mu_alpha.

    The model is y_ij = alpha_j + beta x_ij + e_ij, e_ij ~ Normal(0, sigma_y),
    alpha_j ~ Normal(mu_alpha, sigma_alpha). Setting the derivatives of the joint log
    density of (y, alpha) to zero, with the variances fixed, gives

    - alpha_j = w_j (ybar_j - beta xbar_j) + (1 - w_j) mu_alpha with
      w_j = n_j sigma_alpha^2 / (n_j sigma_alpha^2 + sigma_y^2): partial pooling of the
      group's own intercept estimate toward mu_alpha, more data giving more weight;
    - beta = sum_ij x_ij (y_ij - alpha_j) / sum_ij x_ij^2: least squares given the
      intercepts, with no prior term, so the slope is shared, not pooled;
    - mu_alpha = the average of the alpha_j.

    With the variances at their (RE)ML estimates these are the BLUPs of the mixed model.

    Returns
    -------
    Derivation
        Results ``"alpha"``, ``"weight"``, ``"beta"`` and ``"mu_alpha"``; ``alpha`` and
        ``weight`` use the symbols ``n`` (observations in the group), ``ybar``, ``xbar``,
        ``beta``, ``mu_alpha``, ``sigma_y``, ``sigma_alpha``; ``beta`` and ``mu_alpha``
        contain sympy sums over the indexed ``y``, ``x``, ``alpha`` and ``n``.

    References
    ----------
    Gelman & Hill (2007), Section 12.2 and eq. 12.16; Henderson, C. R. (1975). Best
    linear unbiased estimation and prediction under a selection model. *Biometrics*
    31(2), 423-447; the chapter "Shrinkage, derived", section "Where pooling happens".

    Examples
    --------
    >>> random_intercept_estimates()["weight"]
    n*sigma_alpha**2/(n*sigma_alpha**2 + sigma_y**2)
    """
    i, j = sp.symbols("i j", positive=True, integer=True)
    big_j = sp.Symbol("J", positive=True, integer=True)
    y, x = sp.IndexedBase("y"), sp.IndexedBase("x")
    alpha_indexed, n_indexed = sp.IndexedBase("alpha"), sp.IndexedBase("n")
    beta, mu_alpha, alpha = sp.symbols("beta mu_alpha alpha_j", real=True)
    ybar, xbar = sp.symbols("ybar xbar", real=True)
    sigma_y, sigma_alpha = sp.symbols("sigma_y sigma_alpha", positive=True)
    n = sp.Symbol("n", positive=True, integer=True)

    # The terms of the joint log density that contain alpha_j (group j, n observations).
    group_terms = -sp.Sum((y[i] - alpha - beta * x[i]) ** 2, (i, 1, n)) / (2 * sigma_y**2) - (
        alpha - mu_alpha
    ) ** 2 / (2 * sigma_alpha**2)
    d_alpha = _pull_out_constants(sp.diff(group_terms, alpha)).doit()
    d_alpha = d_alpha.subs({sp.Sum(y[i], (i, 1, n)): n * ybar, sp.Sum(x[i], (i, 1, n)): n * xbar})
    alpha_hat = sp.solve(d_alpha, alpha)[0]
    weight = sp.factor(sp.expand(alpha_hat).coeff(ybar))

    # The whole joint log density, for beta and mu_alpha.
    residual = y[i, j] - alpha_indexed[j] - beta * x[i, j]
    log_joint = -sp.Sum(residual**2, (i, 1, n_indexed[j]), (j, 1, big_j)) / (
        2 * sigma_y**2
    ) - sp.Sum((alpha_indexed[j] - mu_alpha) ** 2, (j, 1, big_j)) / (2 * sigma_alpha**2)
    d_beta = _pull_out_constants(sp.diff(log_joint, beta))
    beta_hat = sp.solve(d_beta, beta)[0]
    d_mu = _pull_out_constants(sp.diff(log_joint, mu_alpha)).doit()
    mu_hat = sp.solve(d_mu, mu_alpha)[0]

    w_symbol = sp.Symbol("w_j")
    steps = [
        Step(r"terms with $\alpha_j$", group_terms),
        Step(r"$\partial/\partial\alpha_j = 0$", sp.Eq(d_alpha, 0)),
        Step(r"solution", alpha_hat, r"\hat\alpha_j"),
        Step(
            "as partial pooling",
            w_symbol * (ybar - beta * xbar) + (1 - w_symbol) * mu_alpha,
            r"\hat\alpha_j",
        ),
        Step("weight", weight, "w_j"),
        Step(r"$\partial/\partial\beta = 0$", beta_hat, r"\hat\beta"),
        Step(r"$\partial/\partial\mu_\alpha = 0$", mu_hat, r"\hat\mu_\alpha"),
    ]
    results = {"alpha": alpha_hat, "weight": weight, "beta": beta_hat, "mu_alpha": mu_hat}
    return _derivation(results, steps)
