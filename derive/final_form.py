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
* sign(u) is u/|u| in an answer that writes |u|′ that way: one notation for one function;
* a root of an odd power is a power, x^(3/4) for ⁴√(x³) (its domain is u ≥ 0 either way), and
  powers of one base are one power: x^(x − 1), not x^x/x;
* a factor common to every term of a numerator and to the denominator is cancelled:
  (1 − 2·log x)/x³, not (x − 2·x·log x)/x⁴;
* terms that all hold one e^u are one product: e^p·(p + 1), not p·e^p + e^p;
* beside √u, u^(3/2) is u·√u: one notation for the roots of one base; x^(√x − 1/2) is
  x^√x/√x;
* cos u·tan u is sin u, sin u·cot u is cos u, cos u·sec u is 1 (and so on);
* σ(u) only where the student wrote σ, softplus or 1/(1 + e^(−u)): the derivative of
  (e^x − 1)/(e^x + 1) is 2·e^x/(e^x + 1)², not 2·σ(x)·(1 − σ(x)) (σ is written back as the
  student's e^u/(e^u + 1) or 1/(1 + e^(−u)), and the shortest form kept);
* an answer a + b·[u > 0] with a ≠ 0 (Leaky ReLU′) is written in two pieces,
  {a, u ≤ 0; a + b, u > 0}, as the notes write g′(z); with a Leaky ReLU's slope as a decimal.
"""

from __future__ import annotations

import sympy as sp
from sympy import Add, Mul, Pow
from sympy.core.parameters import distribute

from .functions import leaky_relu, relu, sigmoid, softplus


def textbook_form(expr, typed=None):
    """``expr`` with the rewrites above; ``typed`` is the expression as the student typed it
    (its sums keep their signs). Returns ``expr`` itself when nothing changes."""
    if not isinstance(expr, sp.Expr):
        return expr
    expr = _sigmoid_as_typed(expr, typed)
    typed_sums = set()
    if typed is not None:
        typed_sums = {s for s in sp.preorder_traversal(typed) if isinstance(s, Add)}
    # a number times a sum stays a product, 0.5·(…), as the derivation wrote it
    with distribute(False):
        out = _sign_as_ratio(_heaviside(_odd_power_roots(expr)))
        out = out.replace(lambda e: isinstance(e, Mul), lambda e: _product(e, typed_sums))
        out = out.replace(lambda e: isinstance(e, Add), _numbers_added)
        out = out.replace(lambda e: isinstance(e, Pow), _denominator_content)
        out = out.replace(lambda e: isinstance(e, Add), _exp_collected)
    out = _two_pieces(_one_root_notation(_common_factor_cancelled(out)), typed)
    return out if out != expr else expr


def _sigmoid_as_typed(expr, typed):
    """``expr`` without σ when ``typed`` has neither σ, softplus nor 1/(1 + e^(−u)): each σ(u)
    written as the student wrote e^u (e^u/(e^u + 1) beside e^u + 1, else 1/(1 + e^(−u))) and
    tidied again without σ."""
    if typed is None or not expr.has(sigmoid) or typed.has(sigmoid, softplus):
        return expr
    grown = {s.args[0] for s in expr.atoms(sigmoid)}
    if any(typed.has(1 / (1 + sp.exp(-u))) for u in grown):
        return expr
    from .engine import tidy                    # engine's forms; imported when needed
    plain = expr.xreplace({s: sp.exp(s.args[0]) / (sp.exp(s.args[0]) + 1) if typed.has(sp.exp(s.args[0]) + 1)
                           else 1 / (1 + sp.exp(-s.args[0])) for s in expr.atoms(sigmoid)})
    return tidy(plain, [sp.factor(sp.cancel(plain))], sigmoid=False)


def _product(e, typed_sums):
    factors = _trig_pairs(_same_bases(list(Mul.make_args(e))))
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


def _odd_power_roots(expr):
    """(u^m)^(p/q) as u^(m·p/q) for an odd m and an even q: both are defined for u ≥ 0 only,
    and equal there (⁴√(x³) = x^(3/4))."""
    def merged(e):
        inner = e.base
        if inner.is_Pow and inner.exp.is_Integer and inner.exp.is_odd and e.exp.is_Rational \
                and e.exp.q % 2 == 0:
            return Pow(inner.base, inner.exp * e.exp)
        return e

    return expr.replace(lambda e: isinstance(e, Pow) and isinstance(e.base, Pow), merged)


def _same_bases(factors):
    """A power with a symbolic exponent and whole powers of its base as one power:
    x^x·x^(−1) is x^(x − 1) (x^√x·x^(−1/2) stays, written x^√x/√x)."""
    bases = {}
    for f in factors:
        bases.setdefault(f.as_base_exp()[0], []).append(f)
    merged = []
    for f in factors:
        base = f.as_base_exp()[0]
        group = bases[base]
        exponents = [g.as_base_exp()[1] for g in group]
        numbers = [n for n in exponents if n.is_Number]
        if len(group) < 2 or base.is_Number or len(numbers) == len(group) or \
                not all(n.is_Integer for n in numbers):
            merged.append(f)
        elif f is group[0]:
            merged.append(Pow(base, Add(*(g.as_base_exp()[1] for g in group))))
    return merged


# Products of two trigonometric functions of one angle that a textbook writes as one (or as 1):
# cos u·tan u = sin u, sin u·cot u = cos u, cos u·sec u = sin u·csc u = tan u·cot u = 1.
_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)
_TRIG_PAIRS = {(sp.cos, sp.tan): sp.sin, (sp.sin, sp.cot): sp.cos, (sp.cos, sp.sec): None,
               (sp.sin, sp.csc): None, (sp.tan, sp.cot): None}


def _trig_pairs(factors):
    """The factors with each pair of ``_TRIG_PAIRS`` (whole positive powers) written as one."""
    powers = {}
    for f in factors:
        base, power = f.as_base_exp()
        if isinstance(base, _TRIG) and power.is_Integer and power > 0:
            powers[base] = powers.get(base, 0) + power
    changed = dict(powers)
    extra = []
    for (first, second), one in _TRIG_PAIRS.items():
        for g in [g for g in changed if isinstance(g, first)]:
            partner = second(*g.args)
            k = min(changed[g], changed.get(partner, 0))
            if k:
                changed[g] -= k
                changed[partner] -= k
                if one is not None:
                    extra.append(Pow(one(*g.args), k))
    if not extra and changed == powers:
        return factors
    kept = [f for f in factors if f.as_base_exp()[0] not in powers]
    return kept + [Pow(g, n) for g, n in changed.items() if n] + extra


def _two_pieces(expr, typed):
    """a + b·H(u, 0) with a ≠ 0 as {a, u ≤ 0; a + b, u > 0} (H(u, 1): u < 0 and u ≥ 0)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Heaviside):
        return expr
    steps = expr.atoms(sp.Heaviside)
    # [−u ≥ 0] is 1 − [u > 0]: max(z, 0.1·z)′ = [z > 0] + 0.1·[−z ≥ 0] is one step
    complements = {h: 1 - sp.Heaviside(-h.args[0], 0) for h in steps
                   if len(h.args) == 2 and h.args[1] == 1 and sp.Heaviside(-h.args[0], 0) in steps}
    if complements:
        expr = expr.xreplace(complements)
        steps = expr.atoms(sp.Heaviside)
    if len(steps) != 1:
        return expr
    (h,) = steps
    if len(h.args) < 2 or h.args[1] not in (0, 1):
        return expr
    linear = sp.expand(expr).as_poly(h) if expr.is_polynomial(h) else None
    if linear is None or linear.degree() != 1:
        return expr
    b, a = (c.factor() for c in linear.all_coeffs())
    if a == 0 or any(c.has(sp.Heaviside, sp.Max, sp.Min, sp.Abs, relu, leaky_relu) for c in (a, b)):
        return expr
    from .models.activations import Cases      # the notes' two pieces; imported when needed
    decimals = typed is not None and typed.has(leaky_relu)
    pieces = [_decimal(p, decimals) for p in (a, a + b)]
    u = h.args[0]
    number, rest = u.as_coeff_Add()
    low, high = (sp.Le, sp.Gt) if h.args[1] == 0 else (sp.Lt, sp.Ge)
    slope, var = rest.as_coeff_Mul()
    if var.is_Symbol and slope != 1:
        # 3·z − 1 > 0 is z > 1/3 (the sides change for a negative slope)
        number, rest = number / slope, var
        if slope < 0:
            pieces.reverse()
            low, high = (sp.Lt, sp.Ge) if h.args[1] == 0 else (sp.Le, sp.Gt)
    return Cases((pieces[0], low(rest, -number, evaluate=False)),
                 (pieces[1], high(rest, -number, evaluate=False)), evaluate=False)


def _decimal(value, decimals: bool):
    """With ``decimals``, a number over a power of ten as a decimal (Leaky ReLU's 0.01); a
    decimal that is a whole number as one (1, not 1.0); anything else as it is."""
    if decimals and value.is_Rational and not value.is_Integer and 10**6 % value.q == 0:
        return sp.Float(value, 15)
    return sp.Integer(round(value)) if value.is_Float and abs(value - round(value)) < 1e-12 else value


def _common_factor_cancelled(expr):
    """A quotient whose numerator's terms share a power of a factor of its denominator, with
    that power cancelled (where both are defined, the quotients are equal)."""
    if not isinstance(expr, Mul):
        return expr
    num, den = sp.fraction(expr, exact=True)
    if den == 1 or not isinstance(sp.expand_mul(num), Add):
        return expr
    content, rest = sp.factor_terms(num).as_independent(sp.Add, as_Add=False)
    if not isinstance(rest, Add):
        return expr
    on_top = dict(f.as_base_exp() for f in Mul.make_args(content))
    below = dict(f.as_base_exp() for f in Mul.make_args(den))
    common = {b: min(k, below[b]) for b, k in on_top.items()
              if b in below and not b.is_Number and k.is_Integer and below[b].is_Integer and k > 0}
    if not common:
        return expr
    cut = Mul(*(Pow(b, k) for b, k in common.items()))
    return (content / cut) * rest / (den / cut)


def _exp_collected(e):
    """A sum whose terms all hold the same e^u (to the first power), as e^u times a sum."""
    shared = None
    for t in e.args:
        exps = {f for f in Mul.make_args(t) if isinstance(f, sp.exp)}
        shared = exps if shared is None else shared & exps
        if not shared:
            return e
    factor = sorted(shared, key=sp.default_sort_key)[0]
    return Mul(factor, Add(*(t / factor for t in e.args)))


def _one_root_notation(expr):
    """u^(k/2) for an odd k ≥ 3 written u^((k − 1)/2)·√u where √u (or 1/√u) is in the same
    answer: √p beside p·√p, not beside p^(3/2); and u^(g + k/2) as u^g·u^(k/2)."""
    if not isinstance(expr, sp.Expr):
        return expr
    halves = [p for p in expr.atoms(Pow) if p.exp.is_Rational and p.exp.q == 2]
    roots = {p.base for p in halves if abs(p.exp) == sp.S.Half}
    wide = {p: Mul(Pow(p.base, p.exp - sp.sign(p.exp) * sp.S.Half), Pow(p.base, sp.sign(p.exp) * sp.S.Half),
                   evaluate=False)
            for p in halves if p.base in roots and abs(p.exp) > 1}
    # x^(√x − 1/2) is x^√x/√x: a power's root stands apart from its symbolic exponent
    for p in expr.atoms(Pow):
        number, rest = p.exp.as_coeff_Add()
        if number.is_Rational and number.q == 2 and rest != 0 and not rest.is_Number:
            wide[p] = Mul(Pow(p.base, rest), Pow(p.base, number), evaluate=False)
    return expr.xreplace(wide) if wide else expr
