"""`derive expr`: any expression, differentiated step by step and checked."""

from __future__ import annotations

import click

from ..errors import said
from .output import FORMATS, color_wanted, emit, output_format


class _ExprCommand(click.Command):
    """``derive expr`` whose expression may start with "-" (``-x*log(x)``, ``-(y + a)``).

    Click would read such a token as a cluster of short options: the letters o and h in it are
    ``-o FILE`` and ``-h``, so ``-x*log(x)`` became the expression ``-x*l`` written to a file
    ``g(x)``. Here a token is an option only when it is one of the command's option names (or
    ``--name=value``); the first other token is the expression, whatever its first character, and
    it is handed to click after ``--``. A misspelt long option (``--wrtt``) stays an option, so
    click names it.
    """

    def parse_args(self, ctx, args):
        names, with_value = set(), set()
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                names.update(param.opts + param.secondary_opts)
                if not param.is_flag:
                    with_value.update(param.opts)
        i = 0
        while i < len(args):
            token = args[i]
            if token == "--":
                break
            if token in names or token.split("=", 1)[0] in names:
                i += 2 if token in with_value else 1
                continue
            if token.startswith("-") and not token.startswith("--") and len(token) > 1:
                args = [*args[:i], *args[i + 1:], "--", token]
            break
        return super().parse_args(ctx, args)


@click.command(name="expr", cls=_ExprCommand)
@click.argument("expression")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Variable to differentiate with respect to (repeat for a gradient). "
                   "Default: the expression's only variable.")
@click.option("--order", type=int, default=1, metavar="N",
              help="With one variable: the N-th derivative (--wrt x --order 2 is d²f/dx², f″), "
                   "each order worked out from the one before; N from 1 to 5.")
@click.option("--mixed", metavar="x,y",
              help="A mixed partial derivative, its variables in the order they are applied: "
                   "--mixed x,y is ∂²f/∂y∂x = ∂/∂y[∂f/∂x] (f_xy); instead of --wrt.")
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
@click.option("--hessian", is_flag=True, help="With --shape: also the Hessian (one vector variable).")
@click.option("--onehot", multiple=True, metavar="NAME",
              help="With --shape: each column of matrix NAME is one-hot (labels), so its column sums "
                   "are 𝟏ᵀ; the checks use a one-hot NAME.")
@click.option("--signs", multiple=True, metavar="NAME",
              help="With --shape: every entry of NAME is −1 or 1 (labels), so NAME ⊙ NAME = 𝟏; the "
                   "checks use ±1 entries.")
def expr(expression, wrt, order, mixed, at, from_latex, show_steps, fmt, output, standalone, lang, shapes, hessian,
         onehot, signs):
    """Differentiate EXPRESSION (SymPy syntax, or LaTeX with --from-latex), every step verified.

    Exits with status 1 when a derivative at --at disagrees with finite differences.
    An expression starting with "-" can follow "--": derive expr -- "-x^2".

    \b
      derive expr "3*(a+b*c)" --wrt a --show-steps
      derive expr "(3*x**2+2)**4" --show-steps
      derive expr "sigmoid(w*x+b)" --wrt w --wrt b --at w=1,x=2,b=0
      derive expr "x^2*sin(x)" --order 2 --show-steps
      derive expr "x^2*y^3 + sin(x*y)" --mixed x,y
      derive expr "\\frac{1}{1+e^{-z}}" --from-latex --format latex
      derive expr -- "-x^2 + 3x"
      derive expr "sum((X @ w - y)**2)" --wrt w --shape X=m,n --shape w=n --shape y=m
      derive expr "sum(logsumexp(W @ X, axis=0)) - sum(Y * (W @ X))" --wrt W \
          --shape W=k,n --shape X=n,m --shape Y=k,m --onehot Y
    """
    _expr(expression, wrt, order, mixed, at, from_latex, show_steps, output_format(fmt, output), output,
          standalone, lang, shapes, hessian, onehot, signs)


def _expr(expression, wrt, order, mixed, at, from_latex, show_steps, fmt, output, standalone, lang, shapes, hessian,
          onehot, signs):
    """``derive expr`` once its options are read: the derivation rendered, or a DeriveError."""
    from numeric.fd import check_derivatives

    from ..expr import CheckFailed, check_message, expr_derivation

    if onehot and not shapes:
        raise said("--onehot needs --shape: it names a matrix of a matrix expression",
                   "--onehot 需要 --shape：它指的是矩阵表达式里的一个矩阵")
    if signs and not shapes:
        raise said("--signs needs --shape: it names a vector of a matrix expression",
                   "--signs 需要 --shape：它指的是矩阵表达式里的一个向量")
    if shapes or hessian:
        if order != 1 or mixed:
            option = '--order' if order != 1 else '--mixed'
            raise said(f"{option} does not combine with --shape: for a matrix expression ask for --hessian",
                       f"{option} 不能与 --shape 一起用：矩阵表达式请用 --hessian")
        if at is not None or from_latex:
            option = '--at' if at is not None else '--from-latex'
            raise said(f"{option} does not combine with --shape: a matrix expression is checked at random arrays",
                       f"{option} 不能与 --shape 一起用：矩阵表达式在随机数组上检验")
        from numeric.matrix_fd import check_matrix_gradient

        from ..matrix import matrix_derivation

        d = matrix_derivation(expression, list(shapes), list(wrt), hessian=hessian, checker=check_matrix_gradient,
                               onehot=onehot, signs=signs)
    else:
        from ..matrix.parse import SYNTAX_ZH, matrix_syntax

        syntax = matrix_syntax(expression)
        if syntax:
            raise said(f"{syntax} is matrix calculus: give each matrix and vector "
                       f"its shape, e.g. --shape X=m,n --shape w=n",
                       f"{SYNTAX_ZH.get(syntax, syntax.replace('…', '⋯'))} 属于矩阵微积分：请给出每个矩阵和向量的形状，"
                       f"例如 --shape X=m,n --shape w=n")
        d = expr_derivation(expression, list(wrt), from_latex=from_latex, at=at, checker=check_derivatives,
                            order=order, mixed=mixed)
    emit(d.render(fmt, show_steps=show_steps, lang=lang, standalone=standalone,
                  color=color_wanted(output) and fmt == "text"), output)
    if d.failed and (shapes or hessian):
        x, err = d.failed[0]
        raise CheckFailed(f"∂/∂{x}: the NumPy code differs from finite differences by {err:.1e} (relative)",
                          zh=f"∂/∂{x}：NumPy 代码与有限差分相差 {err:.1e}（相对误差）")
    if d.failed:
        raise CheckFailed(*check_message(d))
