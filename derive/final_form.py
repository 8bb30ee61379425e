"""The last touches a textbook gives a derivative, for ``derive expr``'s answers.

``engine.tidy`` picks the shortest of a few equivalent forms; these rewrites keep its choice and
change only how it is written, each an identity on the real line where the answer is defined:

* e^a·e^b is e^(a + b): √x·e^(x² − x) keeps its exponent, not e^(x²)·e^(−x);
* a factor whose terms are all negative gives its sign to the product:
  −e^(−3x)·(5·sin 5x + 3·cos 5x), not e^(−3x)·(−5·sin 5x − 3·cos 5x);
* a sum the student typed keeps its signs: 1/(1 − sin x) for cos x/(1 − sin x), not
  −1/(sin x − 1);
* a whole number common to a denominator's terms stands outside it: 1/(2·(x² + 1));
* a product's minus sign goes into a factor of a function that reads better turned round:
  σ(z)·(1 − σ(z))·(1 − 2·σ(z)), not −σ(z)·(1 − σ(z))·(2·σ(z) − 1);
* numbers that can be added are: 2·log x + 3, not 2·(log x + 1) + 1;
* max(0, u)·H(u) is max(0, u), and H(c·u) is H(u) for a number c > 0 (H(−u) for c < 0);
* sign(u) is u/|u| in an answer that writes |u|′ that way: one notation for one function.
"""

from __future__ import annotations

import sympy as sp
from sympy import Add, Mul, Pow
from sympy.core.parameters import distribute


def textbook_form(expr, typed=None):
    """``expr`` with the rewrites above; ``typed`` is the expression as the student typed it
    (its sums keep their signs). Returns ``expr`` itself when nothing changes."""
    if not isinstance(expr, sp.Expr):
        return expr
    typed_sums = set()
    if typed is not None:
        typed_sums = {s for s in sp.preorder_traversal(typed) if isinstance(s, Add)}
    # a number times a sum stays a product, 0.5·(…), as the derivation wrote it
    with distribute(False):
        out = _sign_as_ratio(_heaviside(expr))
        out = out.replace(lambda e: isinstance(e, Mul), lambda e: _product(e, typed_sums))
        out = out.replace(lambda e: isinstance(e, Add), _numbers_added)
        out = out.replace(lambda e: isinstance(e, Pow), _denominator_content)
    return out if out != expr else expr


def _product(e, typed_sums):
    factors = list(Mul.make_args(e))
    exps = [f for f in factors if isinstance(f, sp.exp)]
    if len(exps) > 1:
        factors = [f for f in factors if not isinstance(f, sp.exp)] + [sp.exp(Add(*(f.args[0] for f in exps)))]
    sign = sp.S.One
    for i, f in enumerate(factors):
        base, power = f.as_base_exp()
        if not (isinstance(base, Add) and power.is_Integer):
            continue
        flipped = Add(*(-t for t in base.args))
        if flipped in typed_sums and base not in typed_sums or (
                power.is_odd and power > 0 and all(t.could_extract_minus_sign() for t in base.args)):
            factors[i] = Pow(flipped, power)
            sign *= sp.S.NegativeOne ** power
    if Mul(sign, *(f for f in factors if f.is_Number)).is_negative:
        i = next((i for i, f in enumerate(factors) if _turns_round(f)), None)
        if i is not None:
            base, power = factors[i].as_base_exp()
            factors[i] = Pow(Add(*(-t for t in base.args)), power)
            sign = -sign
    return Mul(sign, *factors) if factors != list(Mul.make_args(e)) else e


def _turns_round(f) -> bool:
    """Whether factor ``f`` is an odd power of c·g(x) − n (a function's term minus a number),
    which a textbook writes n − c·g(x) with the product's minus sign: 1 − 2·σ(z). A
    polynomial's x − 1 stays as it is."""
    base, power = f.as_base_exp()
    if not (isinstance(base, Add) and power.is_Integer and power.is_odd and power > 0):
        return False
    numbers = [t for t in base.args if t.is_Number]
    rest = [t for t in base.args if not t.is_Number]
    return (len(numbers) == 1 and numbers[0].is_negative and rest and not base.is_polynomial()
            and not any(t.could_extract_minus_sign() for t in rest))


def _numbers_added(e):
    """A sum's number and the numbers inside its n·(… + m) terms added: 2·log x + 3."""
    if not any(t.is_Number for t in e.args):
        return e
    opened = []
    for t in e.args:
        coeff, rest = t.as_coeff_Mul()
        if coeff.is_Number and isinstance(rest, Add) and any(a.is_Number for a in rest.args):
            opened.extend(coeff * a for a in rest.args)
        else:
            opened.append(t)
    return Add(*opened) if len(opened) != len(e.args) else e


def _denominator_content(e):
    if not (isinstance(e.base, Add) and e.exp.is_Integer and e.exp < 0):
        return e
    content, rest = e.base.primitive()
    if content.is_Integer and content > 1:
        return Pow(content, e.exp) * Pow(rest, e.exp)
    return e


def _heaviside(expr):
    """max(0, u)·H(u) → max(0, u); H(c·u) → H(±u) for a number c."""
    def scaled(h):
        arg = h.args[0]
        coeff, rest = arg.as_coeff_Mul()
        if coeff.is_Number and coeff != 0 and coeff != 1 and rest != 1:
            arg = rest if coeff > 0 else Add(*(-t for t in Add.make_args(rest)))
        content, primitive = arg.as_content_primitive()
        if content.is_positive and content != 1:
            arg = primitive
        return h if arg == h.args[0] else sp.Heaviside(arg, *h.args[1:])

    expr = expr.replace(lambda e: isinstance(e, sp.Heaviside), scaled)

    def redundant(e):
        maxima = {m.args[0] if m.args[1] == 0 else m.args[1] for m in Mul.make_args(e)
                  if isinstance(m, sp.Max) and len(m.args) == 2 and 0 in m.args}
        kept = [f for f in Mul.make_args(e) if not (isinstance(f, sp.Heaviside) and f.args[0] in maxima)]
        return Mul(*kept)

    return expr.replace(lambda e: isinstance(e, Mul) and e.has(sp.Heaviside) and e.has(sp.Max), redundant)


def _sign_as_ratio(expr):
    """sign(u) as u/|u| when the answer already writes u/|u|."""
    if not expr.has(sp.sign):
        return expr
    ratios = {a.args[0] for a in expr.atoms(sp.Abs) if expr.has(a.args[0] / a)}
    return expr.xreplace({s: s.args[0] / sp.Abs(s.args[0]) for s in expr.atoms(sp.sign) if s.args[0] in ratios})
