"""`derive expr`: any expression, differentiated step by step and checked."""

from __future__ import annotations

import click

from ..errors import DeriveError
from .output import FORMATS, color_wanted, emit, output_format


class _ExprCommand(click.Command):
    """An expression may start with "-" (-x**2, -log(x), -sum(Y*log(S))): click would read it as a
    cluster of short options, and the "o" of log as ``-o FILE``, writing a file named after the
    rest. Such a token, not the value of an option, is moved behind "--", where it is the
    argument whatever its letters."""

    def parse_args(self, ctx, args):
        names = {n for p in self.params if isinstance(p, click.Option) for n in p.opts}
        takes = {n for p in self.params if isinstance(p, click.Option) and not p.is_flag for n in p.opts}
        if "--" not in args:
            for i, a in enumerate(args):
                if (a.startswith("-") and not a.startswith("--") and a not in names
                        and not (i and args[i - 1] in takes)):
                    args = [*args[:i], *args[i + 1:], "--", a]
                    break
        return super().parse_args(ctx, args)


# An expression may start with "-" (-x**2): unknown options are kept as the argument.
@click.command(name="expr", cls=_ExprCommand, context_settings={"ignore_unknown_options": True})
@click.argument("expression")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Variable to differentiate with respect to (repeat for a gradient). "
                   "Default: the expression's only variable.")
@click.option("--at", metavar="x=1,y=2", help="Evaluate the derivatives at this point (every "
              "variable) and check them against finite differences.")
@click.option("--from-latex", is_flag=True, help="Read EXPRESSION as LaTeX (\\frac{1}{1+e^{-z}}).")
@click.option("--show-steps", is_flag=True, help="Show every step, not just the results.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically).")
@click.option("--standalone", is_flag=True, help="LaTeX: a complete document.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Language of the words.")
@click.option("--shape", "shapes", multiple=True, metavar="NAME=DIMS",
              help="A matrix or vector and its sizes (X=m,n; w=n is a column vector); the "
                   "expression is then a matrix expression (X.T @ w, sum, trace, det, inv, …).")
@click.option("--hessian", is_flag=True, help="With --shape: also the Hessian (one variable; a matrix's in Kronecker form).")
@click.option("--onehot", multiple=True, metavar="NAME",
              help="With --shape: each column of matrix NAME is one-hot (labels; each row with a softmax "
                   "along axis 1), so its column sums are 𝟏ᵀ; the checks use a one-hot NAME.")
def expr(expression, wrt, at, from_latex, show_steps, fmt, output, standalone, lang, shapes, hessian, onehot):
    """Differentiate EXPRESSION (SymPy syntax, or LaTeX with --from-latex), every step verified.

    Exits with status 1 when a derivative at --at disagrees with finite differences.
    An expression starting with "-" can follow "--": derive expr -- "-x^2".

    \b
      derive expr "3*(a+b*c)" --wrt a --show-steps
      derive expr "(3*x**2+2)**4" --show-steps
      derive expr "sigmoid(w*x+b)" --wrt w --wrt b --at w=1,x=2,b=0
      derive expr "\\frac{1}{1+e^{-z}}" --from-latex --format latex
      derive expr -- "-x^2 + 3x"
      derive expr "sum((X @ w - y)**2)" --wrt w --shape X=m,n --shape w=n --shape y=m
      derive expr "sum(logsumexp(W @ X, axis=0)) - sum(Y * (W @ X))" --wrt W \
          --shape W=k,n --shape X=n,m --shape Y=k,m --onehot Y
    """
    from numeric.fd import check_derivatives

    from ..expr import CheckFailed, check_message, expr_derivation

    fmt = output_format(fmt, output)
    if onehot and not shapes:
        raise DeriveError("--onehot needs --shape: it names a matrix of a matrix expression")
    if shapes or hessian:
        if at is not None or from_latex:
            raise DeriveError(f"{'--at' if at is not None else '--from-latex'} does not combine with "
                              f"--shape: a matrix expression is checked at random arrays")
        from numeric.matrix_fd import check_matrix_gradient

        from ..matrix import matrix_derivation

        d = matrix_derivation(expression, list(shapes), list(wrt), hessian=hessian, checker=check_matrix_gradient,
                               onehot=onehot)
    else:
        d = expr_derivation(expression, list(wrt), from_latex=from_latex, at=at, checker=check_derivatives)
    emit(d.render(fmt, show_steps=show_steps, lang=lang, standalone=standalone,
                  color=color_wanted(output) and fmt == "text"), output)
    if d.failed and (shapes or hessian):
        x, err = d.failed[0]
        raise CheckFailed(f"∂/∂{x}: the NumPy code differs from finite differences by {err:.1e} (relative)")
    if d.failed:
        raise CheckFailed(check_message(d))
