"""Safe parsing of user expressions: SymPy-style text and a LaTeX subset.

Nothing here evaluates user text as Python. SymPy-style text goes through ``ast.parse`` and a
whitelist walker that builds SymPy objects node by node; LaTeX goes through a small hand-written
recursive-descent parser that builds the same objects with the same guards. Every failure is a
``DeriveError`` with a one-line message.

SymPy-style syntax (``parse_expression``)
-----------------------------------------
* Numbers: ``2``, ``0.5``, ``1e-3``. Decimals become exact ``Rational`` (0.5 → 1/2), so
  derivations stay exact. No complex literals.
* Names: any ASCII identifier not starting with ``_`` is a plain ``Symbol`` (no assumptions),
  Greek names included (``alpha``, ``theta``, ``lambda``). ``e`` and ``E`` are Euler's
  number (``e**x`` is eˣ, as in the textbooks and the LaTeX reader) and ``pi`` is π. Python
  built-ins and keywords (``eval``, ``open``, ``__import__``, …), module
  names (``os``, ``sys``, …) and SymPy's ``I``, ``oo``, ``zoo``, ``nan`` are refused.
* Operators: ``+ - * / **``, ``^`` (power, as students write it: ``x^2+1`` is x² + 1), unary
  ``-``/``+``, parentheses. Implicit multiplication after a number, a closing parenthesis or a
  name and a blank: ``2x``, ``3sin(x)``, ``(x+1)(x-1)``, ``x sin(x)``; a name directly before
  ``(`` is a call, so write ``x*(x+1)`` or ``x (x+1)``.
* Functions (positional arguments only): sigmoid, relu, leaky_relu (1 or 2 arguments; the
  slope defaults to 1/100), softplus, hard_sigmoid, exp, log / ln (natural; ``log(x, b)`` to a
  numeric base b), sqrt, the trigonometric and hyperbolic functions and their inverses (sin,
  cos, tan, sec, csc, cot, asin or arcsin, …, sinh, …, coth, asinh, …, acoth), abs / Abs,
  erf, max / Max and min / Min (2 to 10 arguments).
* Textbook function notation (``derive.parse_prefix``): ``sin 2x`` is sin(2x), ``sin^2 x`` and
  ``sin^2(x)`` are (sin x)², ``cos^-1 x`` is arccos x (the trigonometric and hyperbolic
  functions; ``ln^-1`` and the others are powers), as in the LaTeX reader.

LaTeX subset (``parse_latex_expression``)
-----------------------------------------
* ``\\frac{a}{b}`` (and ``\\dfrac``, ``\\tfrac``, ``\\frac12``), ``x^{2}``, ``\\sqrt{x}``,
  ``\\sqrt[3]{x}``, ``\\cdot``, ``\\times``, ``/``, ``\\left( \\right)``, ``|x|``, implicit
  multiplication (``2x``, ``\\sigma(z)(1-\\sigma(z))``; it binds tighter than ``/``, so
  ``a/bc`` is a/(bc)).
* **``e`` is Euler's number** (the notes write ``e^{-z}``); ``E`` is refused as ambiguous.
  Single letters are symbols (``ab`` is a·b, ``f(x)`` is f·x); subscripts name symbols
  (``x_{1}`` → ``x_1``, ``\\theta_0`` → ``theta_0``); ``\\hat{y}`` → ``yhat`` (likewise
  ``\\bar``, ``\\tilde``, ``\\dot``); Greek letters are symbols and ``\\pi`` is π.
* Functions: ``\\sigma(z)`` is the sigmoid (``\\sigma`` not followed by a parenthesis is a
  symbol), ``\\exp``, ``\\log``/``\\ln`` (natural; ``\\log_2 x`` to base 2), ``\\sin``,
  ``\\cos``, ``\\tan``, ``\\sec``, ``\\csc``, ``\\cot``, ``\\sinh``, ``\\cosh``,
  ``\\tanh``, ``\\coth``, ``\\arcsin``, ``\\arccos``, ``\\arctan``, ``\\max``,
  ``\\min``, and ``\\operatorname{…}``/``\\mathrm{…}`` with ReLU, LeakyReLU (slope as a
  subscript: ``\\operatorname{LeakyReLU}_{0.01}(z)``), softplus, sigmoid, HardSigmoid or any
  function above. ``\\sin^{2} x`` is (sin x)², ``\\sin^{-1} x`` is arcsin x. Without
  parentheses a function takes the following product of factors and divisions by numbers:
  ``\\log x + 1`` is log(x) + 1, ``\\sin 2x`` is sin(2x), ``\\sin \\pi/2`` is sin(π/2).
  This is the form SymPy's ``latex()`` prints, so printed expressions parse back.
* ``x^10`` is x^{10} and ``e^-z`` is e^{-z}, as students type them (``e^-2x`` is refused as
  ambiguous); ``\\mathrm{e}`` is Euler's number.
* Refused: sums, integrals, limits, derivatives, matrices, equations, factorials.

Limits (so that no input hangs or exhausts memory)
--------------------------------------------------
* ``MAX_LENGTH`` (2,000) characters; ``MAX_DEPTH`` (50) levels of brackets, counted on the text
  before any parser runs; ``MAX_NESTING`` (100) levels of operator nesting; ``MAX_NODES``
  (1,000) syntax nodes or LaTeX tokens.
* ``MAX_DIGITS`` (100): every number, typed or computed, numerator and denominator; likewise
  the size of ``exp``, ``sinh`` and ``cosh`` of a number. A power of two numbers is estimated
  before it is computed, so ``2**2**2**2**2**30`` is refused at once.
* ``MAX_DEGREE`` (100): the exponent k of x**k for a non-numeric base; ``MAX_EXPONENT`` (1,000):
  every number inside a symbolic exponent or ``exp`` argument (SymPy merges
  ``exp(x)*exp(c - x)`` into ``exp(c)``, so these become numeric powers).
* ``max``/``min`` take at most 10 arguments (SymPy compares them pairwise).
* ``MAX_WORK`` (1,500,000): Python calls one parse may make, counted with ``sys.settrace``, for
  slow paths of SymPy's automatic simplification (nested ``tanh``, fractional powers of
  high-degree sums); counting work makes the verdict independent of the machine's load.
  ``CPU_LIMIT_SECONDS`` (8) of the process's CPU time is a last resort in the main thread.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import keyword
import math
import re
import signal
import sys
import threading
from collections.abc import Iterable

import mpmath
import sympy as sp
from sympy import S

from .parse_prefix import Reading, rewrite as prefix_rewrite
from .errors import DeriveError, said
from .functions import hard_sigmoid, leaky_relu, relu, sigmoid, softplus

__all__ = [
    "parse_expression",
    "parse_latex_expression",
    "parse_point",
    "check_wrt",
    "validate_expression",
    "FUNCTION_NAMES",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_DIGITS",
    "MAX_DEGREE",
    "MAX_EXPONENT",
    "MAX_WORK",
    "CPU_LIMIT_SECONDS",
]

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_NESTING = 100
MAX_NODES = 1000
# Every number, typed or computed (numerator and denominator alike). SymPy searches for perfect
# powers whenever a number meets a fractional power, even inside a product: that takes ~0.4 s
# at 900 digits and grows fast, and Python refuses to print integers beyond 4,300 digits.
MAX_DIGITS = 100
# |k| in x**k for a non-numeric base. Our symbols carry no assumptions, so SymPy expands
# (re + i·im)**k to find the phase of nested powers: ~0.5 s at k = 100, ~15 min at k = 1000.
MAX_DEGREE = 100
# Numbers inside a symbolic exponent or an exp argument, and the exponent of a numeric base
# whose size cannot be estimated.
MAX_EXPONENT = 1000
# SymPy's Max/Min compare every pair of arguments symbolically: 10 arguments take ~0.05 s,
# 40 take ~1 s and 300 take over a minute.
MAX_MINMAX_ARGS = 10
# Python calls one parse may make. SymPy's automatic simplification has slow paths the limits
# above miss; a plain expression takes 10,000-150,000 calls (with SymPy's caches cold), about
# a microsecond each. Nested tanh: 7 levels take ~0.8 million, 8 levels ~2.5 million.
MAX_WORK = 1_500_000
# A last resort in CPU seconds for work that makes few Python calls; MAX_WORK calls take ~2 s.
CPU_LIMIT_SECONDS = 8.0
# Size of the finished SymPy tree; evaluation can make it a little larger than the input.
MAX_TREE_NODES = 5 * MAX_NODES

_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))
# exp, sinh and cosh of a number beyond this have more than MAX_DIGITS digits. Such numbers
# are legal SymPy objects, but printing or evaluating sin(cosh(10**6)) computes e and π to
# millions of digits.
_MAX_EXP_ARGUMENT = MAX_DIGITS * math.log(10)

# ----------------------------------------------------------------------------------------
# Building SymPy objects with guards
# ----------------------------------------------------------------------------------------

_UNDEFINED = (S.ComplexInfinity, S.NaN, S.Infinity, S.NegativeInfinity)


def _rational_too_big(r: sp.Rational) -> bool:
    return max(abs(r.p).bit_length(), r.q.bit_length()) > _MAX_BITS


def _inspect(node: sp.Basic) -> None:
    """Refuse one node that is undefined, complex, a too-large number or a too-high power."""
    if node in _UNDEFINED:
        raise _undefined()
    if node is S.ImaginaryUnit:
        raise _complex()
    if node.is_Rational and _rational_too_big(node):
        raise said(f"number too large: more than {MAX_DIGITS} digits",
                   f"数字太大：超过 {MAX_DIGITS} 位")
    if node.is_Pow and node.exp.is_Rational and not node.base.is_number \
            and abs(node.exp) > MAX_DEGREE:
        raise _degree_too_high()
    if isinstance(node, (sp.exp, sp.sinh, sp.cosh)) and node.args[0].is_number:
        value = _real_value(node.args[0])
        name = type(node).__name__
        if value is None:
            raise said(f"unsupported value: {name} of a number that is not real",
                       f"不支持的值：{name} 作用于一个非实数")
        if abs(value) > _MAX_EXP_ARGUMENT:
            shown = f"{name}({mpmath.nstr(value, 3)})"
            raise said(f"number too large: {shown} has more than {MAX_DIGITS} digits",
                       f"数字太大：{shown} 超过 {MAX_DIGITS} 位")


def _undefined() -> DeriveError:
    return said("the expression is undefined or infinite (division by zero?)",
                "表达式无定义或为无穷大（是否除以零？）")


def _complex() -> DeriveError:
    return said("the expression has a complex value; derive works with real values",
                "表达式的值是复数；derive 只处理实数")


def _degree_too_high() -> DeriveError:
    return said(f"exponent too large: powers of variables are limited to degree {MAX_DEGREE}",
                f"指数太大：变量的幂最高 {MAX_DEGREE} 次")


def _checked(x: sp.Expr) -> sp.Expr:
    """Refuse an intermediate result with a bad node in its top two levels.

    Two levels are enough for what SymPy builds on its own: a number distributed over a sum
    (2·(x + 3) → 2x + 6) or powers merged in a product (x**60·x**60 → x**120). The finished
    tree is checked completely by ``validate_expression``.
    """
    _inspect(x)
    for a in x.args:
        _inspect(a)
        for b in a.args:
            _inspect(b)
    return x


def _real_value(number: sp.Expr):
    """``number`` as an mpmath float, or None when it has no cheap finite real value."""
    if number.is_Rational:
        return mpmath.mpf(number.p) / number.q
    try:
        value = number.evalf(20)
        if value.is_Number and value.is_finite:
            return mpmath.mpf(value)
    except Exception:  # noqa: BLE001 - evalf of odd input fails many ways; None is conservative
        pass
    return None


def _log10_abs(number: sp.Expr):
    """log10 |number| as an mpmath float, or None when it cannot be evaluated cheaply."""
    if number.is_Rational:
        if number.is_zero:
            return mpmath.ninf
        return mpmath.log10(abs(number.p)) - mpmath.log10(number.q)
    value = _real_value(number)
    if value is None or not value:
        return None
    return mpmath.log10(abs(value))


def _check_pow(base: sp.Expr, exp: sp.Expr) -> None:
    """Raise if ``base**exp`` would be a huge number or a huge symbolic power."""
    if not exp.is_number:
        if base.is_zero:
            # 0^x is 0 for x > 0, 1 at x = 0 by convention and undefined below: no derivative
            raise said("0 to a variable power has no derivative (0^x is 0 for x > 0 and "
                       "undefined for x < 0)",
                       "0 的变量次幂没有导数（x > 0 时 0^x 为 0，x < 0 时无定义）")
        _check_symbolic_exponent(exp)
        return
    magnitude = _real_value(exp)
    if magnitude is None:
        raise said("unsupported power: the exponent has no real numeric value",
                   "不支持的幂：指数没有实数值")
    if base.is_number:
        if base in (S.One, S.NegativeOne) or exp.is_zero:
            return
        if base.is_zero:
            if exp.is_negative:
                raise said("division by zero (0 to a negative power)", "除以零（0 的负数次幂）")
            return
        log_base = _log10_abs(base)
        if log_base is None:
            if abs(magnitude) > MAX_EXPONENT:
                raise said(f"exponent too large: at most {MAX_EXPONENT} in absolute value "
                           f"for this base", f"指数太大：这个底数的指数绝对值最多为 {MAX_EXPONENT}")
            return
        digits = abs(magnitude * log_base)
        if digits > MAX_DIGITS:
            shown = int(mpmath.ceil(digits)) if digits < 10**6 else mpmath.nstr(digits, 3)
            raise said(f"exponent too large: the power would have about {shown} digits "
                       f"(at most {MAX_DIGITS})",
                       f"指数太大：这个幂约有 {shown} 位（最多 {MAX_DIGITS} 位）")
        return
    if abs(magnitude) > MAX_DEGREE:
        raise _degree_too_high()


def _check_symbolic_exponent(exp: sp.Expr) -> None:
    # SymPy merges powers of a common base (exp(x) * exp(c - x) becomes exp(c)), so a large
    # number anywhere in a symbolic exponent can become a huge numeric power later.
    for atom in exp.atoms(sp.Rational):
        if abs(atom.p) > MAX_EXPONENT * atom.q:
            raise said(f"exponent too large: numbers in an exponent are at most "
                       f"{MAX_EXPONENT} in absolute value",
                       f"指数太大：指数里的数字绝对值最多为 {MAX_EXPONENT}")


def _check_exp(arg: sp.Expr) -> None:
    """Raise if ``exp(arg)`` would be huge, including SymPy's exp(c·log(b)) → b**c rewrite."""
    if arg.is_number:
        if arg.has(sp.log):
            for term in sp.Add.make_args(arg):
                coeffs, logs = [], []
                for factor in sp.Mul.make_args(term):
                    combined = sp.logcombine(factor) if factor.has(sp.log) else factor
                    if isinstance(combined, sp.log):
                        logs.append(combined.args[0])
                    else:
                        coeffs.append(factor)
                if len(logs) == 1:
                    _check_pow(logs[0], sp.Mul(*coeffs))
        value = _real_value(arg)
        if value is not None and abs(value) > _MAX_EXP_ARGUMENT:
            shown = f"exp({mpmath.nstr(value, 3)})"
            raise said(f"number too large: {shown} has more than {MAX_DIGITS} digits",
                       f"数字太大：{shown} 超过 {MAX_DIGITS} 位")
        return
    _check_symbolic_exponent(arg)


def _sympy_call(build, *args):
    """Run one SymPy constructor; its own errors (e.g. non-comparable Max) become one line."""
    try:
        value = build(*args)
        _check_work()
        return _checked(value)
    except (DeriveError, _OutOfWork):
        raise
    except (RecursionError, MemoryError):
        raise _too_complex() from None
    except Exception as err:  # noqa: BLE001 - SymPy raises many types for odd numeric input
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        # SymPy's own words are quoted as they are
        raise said(f"cannot build the expression: {first[:120]}",
                   f"无法构建表达式：SymPy 报告“{first[:120]}”") from None


def _too_complex() -> DeriveError:
    return said("expression too complex", "表达式太复杂")


def _guarded(function):
    """Turn any error that escapes the checks into a one-line DeriveError (a last resort)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DeriveError:
            raise
        except (RecursionError, MemoryError):
            raise _too_complex() from None
        except Exception as err:  # noqa: BLE001 - the user must never see a traceback
            first = (str(err).splitlines() or [""])[0][:100]
            raise said(f"internal error while parsing ({type(err).__name__}: {first})",
                       f"解析时出现内部错误（`{type(err).__name__}`：“{first}”）") from None

    return wrapper


class _OutOfWork(BaseException):
    """Raised by the work meter: a BaseException, so that no ``except Exception`` in SymPy
    eats it."""


# The meter of the innermost metered call in each thread (None outside one).
_meters = threading.local()


def _work_limited(function):
    """Refuse ``function`` once it has run ``MAX_WORK`` Python calls, with a DeriveError.

    SymPy's automatic evaluation has slow paths that no size limit predicts (a fractional power
    of 1/(y**100 - c) asks for the real part of y**100; each ``tanh`` around a ``tanh``
    triples the work of deciding whether the argument is real). Counting calls, rather than
    seconds, makes the verdict the same on a busy machine and an idle one. A tracer already in
    place (a debugger, coverage) keeps running underneath.

    Past the budget the meter raises in the next ordinary call (not in a finalizer, which would
    swallow it). Python then drops the meter; should something still swallow the exception,
    the budget stays spent and every SymPy constructor the parser calls next refuses
    (``_check_work``). As a last resort for work that makes few calls (big-integer arithmetic
    in C, which the size limits should already bound, or the rest of one constructor whose
    exception was swallowed), a CPU-time alarm of ``CPU_LIMIT_SECONDS`` stops the parse: the
    process's own CPU time, not the clock, several times what ``MAX_WORK`` calls cost.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        previous_tracer = sys.gettrace()
        left = [MAX_WORK]

        def meter(frame, event, arg):
            left[0] -= 1
            if left[0] < 0 and not (frame.f_code.co_flags & _FINALIZABLE
                                    or frame.f_code.co_name == "__del__"):
                raise _OutOfWork
            return previous_tracer(frame, event, arg) if previous_tracer else None

        alarm = (hasattr(signal, "setitimer")
                 and threading.current_thread() is threading.main_thread()
                 and signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0))
        outer = getattr(_meters, "left", None)
        _meters.left = left
        if alarm:
            previous_handler = signal.signal(signal.SIGPROF, _out_of_cpu)
            signal.setitimer(signal.ITIMER_PROF, CPU_LIMIT_SECONDS)
        sys.settrace(meter)
        try:
            result = function(*args, **kwargs)
            _check_work()
            return result
        except _OutOfWork:
            raise said(f"expression too complex: SymPy's automatic simplification of "
                       f"it needs more than {MAX_WORK:,} steps",
                       f"表达式太复杂：SymPy 的自动化简需要超过 {MAX_WORK:,} 步") from None
        except _OutOfCpu:
            raise said(f"expression too complex: not parsed within "
                       f"{CPU_LIMIT_SECONDS:g} s of CPU time",
                       f"表达式太复杂：{CPU_LIMIT_SECONDS:g} 秒 CPU 时间内没能解析完") from None
        finally:
            sys.settrace(previous_tracer)
            _meters.left = outer
            if alarm:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, previous_handler)

    return wrapper


# Generator and coroutine frames: the 'call' event of one being closed comes from a finalizer.
_FINALIZABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _check_work() -> None:
    """Raise _OutOfWork if the current metered call has spent its budget."""
    left = getattr(_meters, "left", None)
    if left is not None and left[0] < 0:
        raise _OutOfWork


class _OutOfCpu(BaseException):
    """Raised by the CPU-time alarm (a BaseException, for the same reason as _OutOfWork)."""


def _out_of_cpu(signum, frame):
    raise _OutOfCpu


def _snippet(text: str, size: int = 40) -> str:
    """User text for a one-line message: blanks collapsed, length capped."""
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 3] + "..."


def _add(terms: list) -> sp.Expr:
    return _sympy_call(lambda: sp.Add(*terms))


def _mul(factors: list) -> sp.Expr:
    if len(factors) == 1:
        return factors[0]
    return _sympy_call(lambda: sp.Mul(*factors))


def _neg(x: sp.Expr) -> sp.Expr:
    return _mul([S.NegativeOne, x])


def _pow(base: sp.Expr, exp: sp.Expr) -> sp.Expr:
    if base is S.Exp1:
        return _exp(exp)
    _check_pow(base, exp)
    return _sympy_call(sp.Pow, base, exp)


def _inverse(x: sp.Expr) -> sp.Expr:
    if x.is_zero:
        raise said("division by zero", "除以零")
    return _pow(x, S.NegativeOne)


def _exp(arg: sp.Expr) -> sp.Expr:
    _check_exp(arg)
    return _sympy_call(sp.exp, arg)


def _sqrt(arg: sp.Expr) -> sp.Expr:
    return _pow(arg, S.Half)


def _leaky_relu(z: sp.Expr, alpha: sp.Expr | None = None) -> sp.Expr:
    return _sympy_call(leaky_relu, z) if alpha is None else _sympy_call(leaky_relu, z, alpha)


def _minmax(cls):
    def build(*args):
        count = sum(len(a.args) if isinstance(a, cls) else 1 for a in args)
        if count > MAX_MINMAX_ARGS:
            name = cls.__name__.lower()
            raise said(f"{name} of more than {MAX_MINMAX_ARGS} arguments is not supported",
                       f"不支持超过 {MAX_MINMAX_ARGS} 个参数的 {name}")
        return _sympy_call(cls, *args)

    return build


def _plain(cls):
    return lambda *args: _sympy_call(cls, *args)


def _log(arg: sp.Expr, base: sp.Expr | None = None) -> sp.Expr:
    """log(x) is the natural logarithm; log(x, b) the logarithm to base b, log x / log b."""
    if base is None:
        return _sympy_call(sp.log, arg)
    if not (base.is_number and base.is_positive and base != 1):
        raise said("the base of a logarithm must be a positive number other than 1, "
                   "e.g. log(x, 2)", "对数的底必须是不等于 1 的正数，例如 log(x, 2)")
    return _mul([_sympy_call(sp.log, arg), _inverse(_sympy_call(sp.log, base))])


# Trigonometric and hyperbolic functions and their inverses, by SymPy's names.
_TEXTBOOK_FUNCTIONS = (
    "sin", "cos", "tan", "sec", "csc", "cot", "asin", "acos", "atan", "asec", "acsc", "acot",
    "sinh", "cosh", "tanh", "sech", "csch", "coth", "asinh", "acosh", "atanh", "acoth",
)

# sin^-1 x is arcsin x, as textbooks write it (likewise for the others with an inverse)
_INVERSE_TRIG = {name: "a" + name for name in _TEXTBOOK_FUNCTIONS if not name.startswith("a")}
# The functions written as textbooks do, without parentheses or with a power on the name:
# sin 2x, sin^2 x, ln^2 x (derive.parse_prefix).
_PREFIX_FUNCTIONS = frozenset({
    *_TEXTBOOK_FUNCTIONS, *("arc" + name[1:] for name in _TEXTBOOK_FUNCTIONS if name[0] == "a"),
    "ln", "log", "exp", "sqrt",
})

# name -> (builder, min args, max args); several names share a builder.
_FUNCTIONS: dict[str, tuple] = {
    "sigmoid": (_plain(sigmoid), 1, 1),
    "relu": (_plain(relu), 1, 1),
    "leaky_relu": (_leaky_relu, 1, 2),
    "softplus": (_plain(softplus), 1, 1),
    "hard_sigmoid": (_plain(hard_sigmoid), 1, 1),
    "exp": (_exp, 1, 1),
    "log": (_log, 1, 2),
    "ln": (_plain(sp.log), 1, 1),
    "sqrt": (_sqrt, 1, 1),
    **{name: (_plain(getattr(sp, name)), 1, 1) for name in _TEXTBOOK_FUNCTIONS},
    # arcsin(x) as the textbooks write asin(x)
    **{"arc" + name[1:]: (_plain(getattr(sp, name)), 1, 1)
       for name in _TEXTBOOK_FUNCTIONS if name.startswith("a")},
    "abs": (_plain(sp.Abs), 1, 1),
    "Abs": (_plain(sp.Abs), 1, 1),
    # the error function, of the exact GELU x·(1 + erf(x/√2))/2
    "erf": (_plain(sp.erf), 1, 1),
    "max": (_minmax(sp.Max), 2, MAX_MINMAX_ARGS),
    "Max": (_minmax(sp.Max), 2, MAX_MINMAX_ARGS),
    "min": (_minmax(sp.Min), 2, MAX_MINMAX_ARGS),
    "Min": (_minmax(sp.Min), 2, MAX_MINMAX_ARGS),
}

FUNCTION_NAMES: tuple[str, ...] = tuple(sorted(_FUNCTIONS))

_CONSTANTS = {"E": S.Exp1, "e": S.Exp1, "pi": S.Pi}

_MODULE_NAMES = frozenset({
    "os", "sys", "subprocess", "shutil", "builtins", "importlib", "socket", "pickle", "io",
    "pathlib", "ctypes", "signal", "sympy", "numpy", "np", "sp",
})
_SYMPY_RESERVED = {
    "I": ("I (the imaginary unit) is not supported; derive works with real values",
          "不支持 I（虚数单位）；derive 只处理实数"),
    "oo": ("oo (infinity) is not supported", "不支持 oo（无穷大）"),
    "zoo": ("zoo (complex infinity) is not supported", "不支持 zoo（复无穷大）"),
    "nan": ("nan is not supported", "不支持 nan"),
}
_PYTHON_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(
    getattr(keyword, "softkwlist", []))
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _name_problem(name: str) -> DeriveError | None:
    """Why ``name`` cannot be a variable (an error the caller may raise or extend), or None
    when it can."""
    if name.startswith("_"):
        return said(f"forbidden name {name!r}: names may not start with '_'",
                    f"禁止的名字 {name!r}：名字不能以 '_' 开头")
    if name in _SYMPY_RESERVED:
        return said(*_SYMPY_RESERVED[name])
    if name in _FUNCTIONS:
        return said(f"{name} is a function: call it, e.g. {name}(x)",
                    f"{name} 是函数：要调用它，例如 {name}(x)")
    if name in _PYTHON_NAMES or name in _MODULE_NAMES:
        return said(f"forbidden name {name!r} (a Python name, not a variable)",
                    f"禁止的名字 {name!r}（这是 Python 的名字，不是变量）")
    if not _NAME.match(name):
        return said(f"invalid name {name!r}", f"无效的名字 {name!r}")
    return None


def extended(err: DeriveError, before: str = "", after: str = "", before_zh: str = "",
             after_zh: str = "") -> DeriveError:
    """``err`` with words before and after it, in English and (where it has one) in Chinese.

    Parameters
    ----------
    err : DeriveError
        The error to extend, e.g. what ``_name_problem`` found.
    before, after : str
        English put before and after ``str(err)``.
    before_zh, after_zh : str
        Chinese put before and after ``err.zh``.

    Returns
    -------
    DeriveError
        A new error; ``extended(problem, "--at: ", before_zh="--at：")``.
    """
    return DeriveError(f"{before}{err}{after}",
                       zh=None if err.zh is None else f"{before_zh}{err.zh}{after_zh}")


def _call(name: str, args: list) -> sp.Expr:
    builder, low, high = _FUNCTIONS[name]
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        want_zh = str(low) if low == high else f"{low} 到 {high}"
        raise said(f"{name} takes {want} argument{'s' if high > 1 else ''} ({len(args)} given)",
                   f"{name} 需要 {want_zh} 个参数（给了 {len(args)} 个）")
    return builder(*args)


def _unknown_function(name: str) -> DeriveError:
    if len(name) <= 2:
        return said(f"unknown function {name!r}: for a product write {name}*(...)",
                    f"未知函数 {name!r}：乘积要写成 {name}*(...)")
    known = ", ".join(n for n in FUNCTION_NAMES if n[0].islower())
    return said(f"unknown function {name!r}; known functions: {known}",
                f"未知函数 {name!r}；已知函数：{known}")


_DECIMAL = re.compile(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\Z")


def _number(literal: str) -> sp.Rational:
    """An exact Rational from a decimal literal (``0.5`` → 1/2, ``1e-3`` → 1/1000)."""
    text = literal.replace("_", "")
    match = _DECIMAL.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise said(f"invalid number {literal[:40]!r}", f"无效的数字 {literal[:40]!r}")
    whole, frac, exponent = match.group(1), match.group(2) or "", match.group(3)
    digits = (whole + frac).lstrip("0")
    too_big = said(f"number too large: {literal[:20]}{'...' if len(literal) > 20 else ''} "
                   f"(at most {MAX_DIGITS} digits)",
                   f"数字太大：{literal[:20]}{'⋯' if len(literal) > 20 else ''}"
                   f"（最多 {MAX_DIGITS} 位）")
    if len(digits) > MAX_DIGITS or len(whole + frac) > MAX_LENGTH:
        raise too_big
    shift = (int(exponent) if exponent else 0) - len(frac)
    if abs(shift) > 2 * MAX_DIGITS:
        raise too_big
    mantissa = int(whole + frac) if (whole + frac) else 0
    value = sp.Integer(mantissa * 10**shift) if shift >= 0 else sp.Rational(mantissa, 10**-shift)
    if _rational_too_big(value):
        raise too_big
    return value


# ----------------------------------------------------------------------------------------
# Text checks shared by both syntaxes
# ----------------------------------------------------------------------------------------

_OPENERS = "([{"
_CLOSERS = ")]}"


# What _check_text checks, in Chinese
_WHAT_ZH = {"expression": "表达式", "LaTeX expression": "LaTeX 表达式", "--at point": "--at 的点"}


def _check_text(text, what: str) -> str:
    what_zh = _WHAT_ZH[what]
    if not isinstance(text, str):
        raise said(f"{what} must be text, not {type(text).__name__}",
                   f"{what_zh}必须是文本，不能是 `{type(text).__name__}`")
    if not text.strip():
        raise said(f"empty {what}", f"{what_zh}是空的")
    if len(text) > MAX_LENGTH:
        raise said(f"{what} too long: {len(text)} characters (at most {MAX_LENGTH})",
                   f"{what_zh}太长：{len(text)} 个字符（最多 {MAX_LENGTH} 个）")
    depth = 0
    for i, ch in enumerate(text):
        code = ord(ch)
        if code > 126:
            raise said(f"unsupported character {ch!r} at column {i + 1}: use ASCII "
                       f"(Greek letters by name, e.g. sigma, theta)",
                       f"第 {i + 1} 列的字符 {ch!r} 不受支持：请只用 ASCII 字符"
                       f"（希腊字母写它的名字，例如 `sigma`、`theta`）")
        if code < 32 and ch not in "\t\n\r" or code == 127:
            raise said(f"control character {ch!r} at column {i + 1}",
                       f"第 {i + 1} 列有控制字符 {ch!r}")
        if ch in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise said(f"{what} too deeply nested: more than {MAX_DEPTH} levels of "
                           f"brackets (column {i + 1})",
                           f"{what_zh}嵌套太深：括号超过 {MAX_DEPTH} 层（第 {i + 1} 列）")
        elif ch in _CLOSERS:
            depth -= 1
    return text


def _location(text: str, col: int) -> str:
    """'column C' (or 'line L, column C') for a 1-based column into ``text``."""
    before = text[: max(col - 1, 0)]
    line = before.count("\n") + 1
    column = col - (before.rfind("\n") + 1)
    return f"line {line}, column {column}" if "\n" in text.strip() else f"column {column}"


def _place_zh(where: str) -> str:
    """A place ``_location`` names (``line 2, column 5``, ``column 5``, ``the end``) in Chinese."""
    found = re.fullmatch(r"(?:line (\d+), )?column (\d+)", where)
    if found is None:
        return "末尾" if where == "the end" else where
    line, column = found.groups()
    return (f"第 {line} 行" if line else "") + f"第 {column} 列"


def _at_place(english: str, chinese: str, where: str) -> DeriveError:
    """An error about one place of the input: ``english (where)``, in Chinese too."""
    return said(f"{english} ({where})", f"{chinese}（{_place_zh(where)}）")


def _located(err: DeriveError, where: str) -> DeriveError:
    """``err`` with its place appended, as ``_at_place`` writes it."""
    return extended(err, after=f" ({where})", after_zh=f"（{_place_zh(where)}）")


# Python's own syntax-error messages, in Chinese; any other is quoted as Python wrote it
_PYTHON_SYNTAX_ZH = (
    (re.compile(r"'(.)' was never closed"), "“{0}”没有闭合"),
    (re.compile(r"unmatched '(.)'"), "多出一个“{0}”，它前面没有对应的左括号"),
    (re.compile(r"closing parenthesis '(.)' does not match opening parenthesis '(.)'"
                r"(?: on line (\d+))?"), "右括号“{0}”与左括号“{1}”不匹配"),
    (re.compile(r"invalid syntax\. Perhaps you forgot a comma\?"), "语法错误，也许漏了逗号？"),
    (re.compile(r"invalid syntax"), "无法识别的写法"),
    (re.compile(r"invalid decimal literal"), "无效的十进制数字"),
    (re.compile(r"invalid (hexadecimal|octal|binary) literal"), "无效的{0}数字"),
    (re.compile(r"invalid digit '(.)' in (hexadecimal|octal|binary) literal"), "{1}数字里不能有 '{0}'"),
    (re.compile(r"leading zeros in decimal integer literals are not permitted; use an 0o prefix for "
                r"octal integers"), "十进制整数不能有前导零；八进制数请用 0o 前缀"),
    (re.compile(r"unterminated (?:triple-quoted )?string literal \(detected at line (\d+)\)"),
     "引号没有配对（第 {0} 行）"),
    (re.compile(r"(?:unexpected EOF while parsing|incomplete input)"), "表达式不完整"),
    (re.compile(r"unexpected indent"), "多余的缩进"),
    (re.compile(r"unexpected character after line continuation character"), "续行符“\\”后面有多余的字符"),
)


_RADIX_ZH = {"hexadecimal": "十六进制", "octal": "八进制", "binary": "二进制"}


def _python_syntax_zh(message: str) -> str:
    for pattern, chinese in _PYTHON_SYNTAX_ZH:
        found = pattern.fullmatch(message)
        if found:
            return chinese.format(*(_RADIX_ZH.get(g, g) for g in found.groups()))
    return f"Python 报告“{message}”"

# ----------------------------------------------------------------------------------------
# SymPy-style syntax
# ----------------------------------------------------------------------------------------

# `lambda` is a Python keyword but a common parameter name (regularization strength); it is
# renamed to an identifier no user can type, since non-ASCII text is refused beforehand.
_LAMBDA_STANDIN = "λλλλλλ"
_LAMBDA_WORD = re.compile(r"(?<![A-Za-z0-9_])lambda(?![A-Za-z0-9_])")

_NODE_NAMES = {
    ast.Attribute: ("attribute access ('.')", "属性访问（'.'）"),
    ast.Subscript: ("indexing ('[...]')", "下标索引（'[...]'）"),
    ast.Lambda: ("lambda expressions", " `lambda` 表达式"),
    ast.ListComp: ("comprehensions", "推导式"),
    ast.SetComp: ("comprehensions", "推导式"),
    ast.DictComp: ("comprehensions", "推导式"),
    ast.GeneratorExp: ("comprehensions", "推导式"),
    ast.JoinedStr: ("strings", "字符串"),
    ast.FormattedValue: ("strings", "字符串"),
    ast.Compare: ("comparisons", "比较"),
    ast.BoolOp: ("'and'/'or'", " 'and'/'or'"),
    ast.IfExp: ("'if' expressions", " 'if' 表达式"),
    ast.Tuple: ("tuples (a top-level ',')", "元组（最外层的 ','）"),
    ast.List: ("lists", "列表"),
    ast.Set: ("sets", "集合"),
    ast.Dict: ("dicts", "字典"),
    ast.Starred: ("'*' arguments", " '*' 参数"),
    ast.NamedExpr: ("':=' assignments", " ':=' 赋值"),
    ast.Await: ("'await'", " 'await'"),
    ast.Yield: ("'yield'", " 'yield'"),
    ast.YieldFrom: ("'yield'", " 'yield'"),
    ast.Slice: ("slices", "切片"),
}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_OP_SYMBOLS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
               ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}


# Tokens for implicit multiplication: a number (not the 0x/0o/0b prefix of an integer), a name
# (the stand-in for `lambda` included), or any other character.
_IMPLICIT_TOKEN = re.compile(
    r"(?P<num>0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_λ][A-Za-z0-9_λ]*)|(?P<other>\s+|.)",
    re.S,
)


# A trigonometric function or ln glued to a number times a one-letter variable: sin2x, cos3t, ln5x.
_GLUED_ARGUMENT = re.compile(r"(sin|cos|tan|sec|csc|cot|ln)(\d+)([A-Za-z])")


def _implicit_products(text: str) -> tuple[str, list[int]]:
    """Write the products students leave implicit: ``2x`` → ``2*x``, ``3sin(x)``,
    ``2(x+1)``, ``(x+1)(x-1)``, ``(x+1)x``, ``x sin(x)``, ``x (x+1)``, ``2x(x+1)``, ``sin2x``; map new
    columns to old ones. A name directly followed by ``(`` stays a call, so ``x(x+1)`` is
    refused as an unknown function."""
    out: list[str] = []
    cols: list[int] = []
    previous = None
    exponent = False        # whether the previous number is an exponent: x^2 3^x is x²·3ˣ
    coefficient = False     # whether the previous name is a letter after a number (2x)
    for match in _IMPLICIT_TOKEN.finditer(text):
        piece, kind = match.group(), match.lastgroup
        if kind == "other" and piece.isspace():
            out.append(piece)
            cols.extend(range(match.start(), match.end()))
            continue
        starts_factor = kind in ("num", "name") or piece == "("
        spaced = match.start() > 0 and text[match.start() - 1].isspace()
        if starts_factor and ((previous == "num" and (kind != "num" or (exponent and spaced)))
                              or previous == ")" or (previous == "name" and (spaced or coefficient))):
            out.append("*")
            cols.append(match.start())
        exponent = kind == "num" and previous in ("^", "-") and "".join(out).rstrip("-").rstrip().endswith("^")
        glued = _GLUED_ARGUMENT.fullmatch(piece) if kind == "name" else None
        if glued and not text[match.end():].lstrip().startswith(("(", "^", "**")):
            # sin2x as a student types it: sin(2*x) (sin2x^2 stays unread: sin(2x)² or sin(2x²)?)
            piece = f"{glued[1]}({glued[2]}*{glued[3]})"
            out.append(piece)
            cols.extend([match.start()] * len(piece))
            previous, coefficient = ")", False
            continue
        # 2x(x + 1) is 2·x·(x + 1): a one-letter name after a number is a variable, not a call
        coefficient = kind == "name" and len(piece) == 1 and previous == "num" and not spaced
        out.append(piece)
        cols.extend(range(match.start(), match.end()))
        previous = kind if kind != "other" else piece
    return "".join(out), cols


def _prepare(text: str) -> tuple[str, list[int]]:
    """Rewrite ``lambda`` → a stand-in, the textbook forms of functions (``sin^2 x``,
    ``cos^-1 x``: ``derive.parse_prefix``) → calls, implicit products → ``*`` and ``^`` →
    ``**``; map new columns to old ones."""
    out: list[str] = []
    cols: list[int] = []
    text, prefix_cols, _ = prefix_rewrite(_LAMBDA_WORD.sub(_LAMBDA_STANDIN, text),
                                          _PREFIX_FUNCTIONS, _INVERSE_TRIG)
    text, implicit_cols = _implicit_products(text)
    for i, ch in enumerate(text):
        piece = "**" if ch == "^" else ch
        out.append(piece)
        cols.extend([prefix_cols[implicit_cols[i]]] * len(piece))
    return "".join(out), cols


class _ExprBuilder:
    """Whitelist walker: SymPy objects from a validated ``ast`` tree, node by node."""

    def __init__(self, source: str, original: str, cols: list[int]):
        self.source = source
        self.original = original
        self.cols = cols
        self.lines = source.split("\n")

    def where(self, node: ast.AST) -> str:
        line = min(max(getattr(node, "lineno", 1), 1), len(self.lines))
        # col_offset counts UTF-8 bytes; the stand-in for `lambda` is the only non-ASCII text.
        encoded = self.lines[line - 1].encode()[: getattr(node, "col_offset", 0)]
        column = len(encoded.decode("utf-8", "ignore"))
        index = sum(len(s) + 1 for s in self.lines[: line - 1]) + column
        return _location(self.original, self.cols[min(index, len(self.cols) - 1)] + 1)

    def check(self, tree: ast.Expression) -> None:
        """Refuse disallowed syntax anywhere, before any SymPy work."""
        count = 0
        for node in ast.walk(tree):
            if isinstance(node, ast.expr):
                count += 1
                if count > MAX_NODES:
                    raise said(f"expression too large: more than {MAX_NODES} nodes",
                               f"表达式太大：超过 {MAX_NODES} 个节点")
            kind = type(node)
            if kind in _NODE_NAMES:
                english, chinese = _NODE_NAMES[kind]
                raise _at_place(f"{english} not allowed", f"不允许{chinese}", self.where(node))
            if isinstance(node, ast.BinOp) and not isinstance(node.op, _BINOPS):
                symbol = _OP_SYMBOLS.get(type(node.op), type(node.op).__name__)
                raise self.unsupported(symbol, node)
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.unsupported("not" if isinstance(node.op, ast.Not) else "~", node)
            if isinstance(node, ast.Constant):
                self.check_constant(node)
            if isinstance(node, ast.Call):
                self.check_call(node)
            if isinstance(node, ast.Name):
                self.check_name(node)
            if not isinstance(node, (ast.expr, ast.Expression, ast.operator, ast.unaryop,
                                     ast.expr_context)):
                raise self.not_allowed(node)

    def not_allowed(self, node: ast.AST) -> DeriveError:
        name = type(node).__name__
        return _at_place(f"{name} not allowed", f"不允许 `{name}`", self.where(node))

    def unsupported(self, symbol: str, node: ast.AST) -> DeriveError:
        return _at_place(f"operator {symbol!r} not supported", f"不支持运算符 {symbol!r}",
                        self.where(node))

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise _at_place(f"{value!r} not allowed", f"不允许 `{value!r}`", self.where(node))
        if isinstance(value, (str, bytes)):
            raise _at_place("strings not allowed", "不允许字符串", self.where(node))
        if isinstance(value, complex):
            raise _at_place("complex numbers not supported", "不支持复数", self.where(node))

    def check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            raise _at_place("only named functions can be called", "只能调用有名字的函数",
                           self.where(node))
        name = node.func.id
        if name not in _FUNCTIONS:
            if name.startswith("_") or name in _PYTHON_NAMES or name in _MODULE_NAMES:
                raise _at_place(f"forbidden name {name!r}", f"禁止的名字 {name!r}", self.where(node))
            raise _unknown_function(name)
        if node.keywords:
            raise _at_place("keyword arguments not allowed", "不允许关键字参数", self.where(node))

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name == _LAMBDA_STANDIN or name in _CONSTANTS:
            return
        if name in _FUNCTIONS:
            # A function name is fine as the callee of a call; check_call sees those.
            return
        problem = _name_problem(name)
        if problem:
            raise _located(problem, self.where(node))

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > MAX_NESTING:
            raise said(f"expression too deeply nested: more than {MAX_NESTING} levels",
                       f"表达式嵌套太深：超过 {MAX_NESTING} 层")
        if isinstance(node, ast.Expression):
            return self.build(node.body, depth)
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.UnaryOp):
            value = self.build(node.operand, depth + 1)
            return _neg(value) if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Call):
            name = node.func.id
            args = [self.build(a, depth + 1) for a in node.args]
            return _call(name, args)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Constant):
            literal = ast.get_source_segment(self.source, node) or repr(node.value)
            if isinstance(node.value, int) and literal[:2].lower() in ("0x", "0o", "0b"):
                return _checked(sp.Integer(node.value))
            return _number(literal)
        raise self.not_allowed(node)

    def binop(self, node: ast.BinOp, depth: int) -> sp.Expr:
        if isinstance(node.op, ast.Pow):
            base = self.build(node.left, depth + 1)
            exp = self.build(node.right, depth + 1)
            return _pow(base, exp)
        # Walk the left spine of a + - (or * /) chain in a loop: `a+b+...+z` is flat, not deep.
        additive = isinstance(node.op, (ast.Add, ast.Sub))
        group = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        items = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, group):
            items.append((node.op, node.right))
            node = node.left
        parts = [self.build(node, depth + 1)]
        for op, right in reversed(items):
            value = self.build(right, depth + 1)
            if isinstance(op, ast.Sub):
                value = _neg(value)
            elif isinstance(op, ast.Div):
                value = _inverse(value)
            parts.append(value)
        return _add(parts) if additive else _mul(parts)

    def name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name == _LAMBDA_STANDIN:
            return sp.Symbol("lambda")
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        problem = _name_problem(name)
        if problem:
            raise _located(problem, self.where(node))
        return sp.Symbol(name)


@_guarded
@_work_limited
def parse_expression(text: str) -> sp.Expr:
    """Parse SymPy-style text (``3*(a+b*c)``, ``sigmoid(w*x+b)``, ``x^2``) safely.

    Parameters
    ----------
    text : str
        The expression; see the module docstring for the syntax and the limits.

    Returns
    -------
    sympy.Expr
        The expression, built from plain ``Symbol`` objects and the allowed functions.

    Raises
    ------
    DeriveError
        With a one-line message for any invalid, forbidden or oversized input.
    """
    _check_text(text, "expression")
    # Leading blanks would be an indentation error in Python; blank them out of the way.
    lead = len(text) - len(text.lstrip())
    source, cols = _prepare(text[lead:])
    cols = [c + lead for c in cols]
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        message = (err.msg or "invalid syntax").splitlines()[0]
        where = "the end" if err.offset is None else None
        if where is None:
            lines = source.split("\n")
            line = min(max(err.lineno or 1, 1), len(lines))
            index = sum(len(s) + 1 for s in lines[: line - 1]) + max(err.offset - 1, 0)
            index = min(index, len(cols) - 1)
            where = _location(text, cols[index] + 1)
        raise said(f"syntax error at {where}: {message}",
                   f"{_place_zh(where)}有语法错误：{_python_syntax_zh(message)}") from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as err:
        first = str(err).splitlines()[0][:80]
        raise said(f"cannot parse the expression: {first}",
                   f"无法解析表达式：Python 报告“{first}”") from None
    builder = _ExprBuilder(source, text, cols)
    builder.check(tree)
    try:
        expr = builder.build(tree)
    except RecursionError:
        raise said("expression too deeply nested", "表达式嵌套太深") from None
    return validate_expression(expr)


# ----------------------------------------------------------------------------------------
# LaTeX subset
# ----------------------------------------------------------------------------------------

_LATEX_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>\d+(?:\.\d*)?|\.\d+)"
    r"|(?P<cmd>\\(?:[A-Za-z]+|.))"
    r"|(?P<letter>[A-Za-z])"
    r"|(?P<op>[-+*/^_()\[\]{}|,=<>!'&~.:;?])",
    re.S,
)
_SKIPPED = frozenset({
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
    "biggr", "Biggl", "Biggr", "displaystyle", "textstyle", ",", ";", ":", "!", " ", "quad",
    "qquad", "thinspace", "medspace", "thickspace",
})
_CMD_AS_OP = {
    "cdot": "*", "times": "*", "ast": "*", "div": "/", "lvert": "|", "rvert": "|",
    "vert": "|", "mid": "|", "{": "(", "}": ")", "lbrace": "(", "rbrace": ")", "lbrack": "[",
    "rbrack": "]", "lparen": "(", "rparen": ")", "le": "<", "leq": "<", "ge": ">",
    "geq": ">", "neq": "=", "ne": "=", "approx": "=", "to": "=",
}
_GREEK = frozenset({
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "omicron", "rho", "sigma", "tau", "upsilon", "phi", "chi",
    "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
    "Psi", "Omega",
})
_GREEK_VARIANTS = {"varepsilon": "epsilon", "vartheta": "theta", "varpi": "pi",
                   "varrho": "rho", "varsigma": "sigma", "varphi": "phi"}
_LATEX_FUNCTIONS = {
    "exp": "exp", "log": "log", "ln": "ln", "sin": "sin", "cos": "cos",
    "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "coth": "coth", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "max": "max", "min": "min",
    # not in TeX itself, but typed (with a \\newcommand or \\DeclareMathOperator) for the
    # functions TeX lacks
    "sech": "sech", "csch": "csch", "cosec": "csc", "arcsec": "asec", "arccsc": "acsc",
    "arccot": "acot", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "arsinh": "asinh", "arcosh": "acosh", "artanh": "atanh", "arccoth": "acoth", "erf": "erf",
}
# Names inside \operatorname{...} / \mathrm{...}, compared lower-case without '_' or spaces.
_OPERATOR_NAMES = {
    "relu": "relu", "leakyrelu": "leaky_relu", "softplus": "softplus", "sigmoid": "sigmoid",
    "hardsigmoid": "hard_sigmoid", "exp": "exp", "log": "log", "ln": "ln", "sqrt": "sqrt",
    "abs": "abs", "max": "max", "min": "min", "erf": "erf",
    **{name: name for name in _TEXTBOOK_FUNCTIONS},
    **{"arc" + name[1:]: name for name in _TEXTBOOK_FUNCTIONS if name.startswith("a")},
}
_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde",
            "widetilde": "tilde", "dot": "dot"}
_NAME_COMMANDS = frozenset({"operatorname", "mathrm", "text", "textrm", "mathit", "textit",
                            "mathsf", "texttt"})
_REFUSED = {
    "sum": ("sums (\\sum) are not supported", "不支持求和（\\sum）"),
    "prod": ("products (\\prod) are not supported", "不支持连乘（\\prod）"),
    "int": ("integrals (\\int) are not supported", "不支持积分（\\int）"),
    "lim": ("limits (\\lim) are not supported", "不支持极限（\\lim）"),
    "partial": ("derivatives (\\partial) are not supported", "不支持导数（\\partial）"),
    "nabla": ("gradients (\\nabla) are not supported", "不支持梯度（\\nabla）"),
    "infty": ("infinity is not supported", "不支持无穷大"),
    "begin": ("matrices and environments (\\begin) are not supported",
              "不支持矩阵和环境（\\begin）"),
    "\\": ("line breaks (\\\\) are not supported", "不支持换行（\\\\）"),
    "binom": ("\\binom is not supported", "不支持 \\binom"),
}
_EQUATION = ("equations and inequalities are not supported; give one expression",
             "不支持等式和不等式；请只给一个表达式")
_OP_MESSAGES = {
    "=": _EQUATION, "<": _EQUATION, ">": _EQUATION,
    "!": ("factorials are not supported", "不支持阶乘"),
    "'": ("primes (') are not supported", "不支持撇号（'）"),
    "&": ("matrices are not supported", "不支持矩阵"), ",": ("unexpected ','", "多余的 ','"),
    "_": ("a subscript needs a letter before it", "下标前面需要一个字母"),
}


_DOLLARS = re.compile(r"^\s*\$+|\$+\s*$")


class _Token:
    __slots__ = ("kind", "value", "col")

    def __init__(self, kind: str, value: str, col: int):
        self.kind, self.value, self.col = kind, value, col

    def is_op(self, *values: str) -> bool:
        return self.kind == "op" and self.value in values

    def show(self) -> str:
        return "\\" + self.value if self.kind == "cmd" else self.value


def _latex_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    skip_dot = False
    while pos < len(text):
        match = _LATEX_TOKEN.match(text, pos)
        if not match:
            raise said(f"unexpected character {text[pos]!r} at column {pos + 1}",
                       f"第 {pos + 1} 列有意外的字符 {text[pos]!r}")
        kind, value, col = match.lastgroup, match.group(), pos + 1
        pos = match.end()
        if kind == "ws":
            continue
        if kind == "cmd":
            value = value[1:]
            if value in ("left", "right"):
                skip_dot = True
                continue
            if value in _SKIPPED:
                continue
            if value in _CMD_AS_OP:
                kind, value = "op", _CMD_AS_OP[value]
        if skip_dot:
            skip_dot = False
            if kind == "op" and value == ".":
                continue
        if kind == "op" and value == "~":
            continue
        tokens.append(_Token(kind, value, col))
        if len(tokens) > MAX_NODES:
            raise said(f"LaTeX expression too large: more than {MAX_NODES} tokens",
                       f"LaTeX 表达式太大：超过 {MAX_NODES} 个记号")
    return tokens


_DOUBLE_SUPERSCRIPT = ("double superscript: use braces, e.g. x^{a^{b}}",
                       "两个上标连在一起：请加花括号，例如 x^{a^{b}}")


def _early_end() -> DeriveError:
    return said("LaTeX syntax error: unexpected end of input", "LaTeX 语法错误：输入意外结束")


class _LatexParser:
    """Recursive descent over LaTeX tokens, building SymPy objects with the shared guards."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _latex_tokens(text)
        self.pos = 0
        self.depth = 0
        self.abs_depth = 0
        self.scripted = False

    # -- token helpers -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _early_end()
        self.pos += 1
        return token

    def at_op(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token.is_op(*values)

    def expect(self, value: str) -> _Token:
        token = self.peek()
        if token is None:
            raise said(f"LaTeX syntax error: expected {value!r} at the end",
                       f"LaTeX 语法错误：末尾缺少 {value!r}")
        if not token.is_op(value):
            where = self.where(token)
            raise said(f"LaTeX syntax error at {where}: expected {value!r}, found {token.show()!r}",
                       f"{_place_zh(where)}有 LaTeX 语法错误：应为 {value!r}，实为 {token.show()!r}")
        return self.take()

    def where(self, token: _Token) -> str:
        return _location(self.text, token.col)

    def fail(self, token: _Token, message: str, chinese: str) -> DeriveError:
        # the message may quote the input: control characters in it (a newline after a
        # backslash) are shown escaped, so that an error stays one line
        def printable(text):
            return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)

        return _at_place(printable(message), printable(chinese), self.where(token))

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise said(f"LaTeX expression too deeply nested: more than {MAX_NESTING} levels",
                       f"LaTeX 表达式嵌套太深：超过 {MAX_NESTING} 层")

    def leave(self) -> None:
        self.depth -= 1

    # -- grammar -------------------------------------------------------------------------

    def parse(self) -> sp.Expr:
        value = self.expr()
        token = self.peek()
        if token is not None:
            raise self.unexpected(token)
        return value

    def unexpected(self, token: _Token) -> DeriveError:
        if token.kind == "op" and token.value in _OP_MESSAGES:
            return self.fail(token, *_OP_MESSAGES[token.value])
        return self.fail(token, f"LaTeX syntax error: unexpected {token.show()!r}",
                         f"LaTeX 语法错误：意外的 {token.show()!r}")

    def expr(self) -> sp.Expr:
        terms = [self.term()]
        while self.at_op("+", "-"):
            sign = self.take().value
            term = self.term()
            terms.append(_neg(term) if sign == "-" else term)
        return _add(terms)

    def term(self) -> sp.Expr:
        factors = [self.unary()]
        while self.at_op("*", "/"):
            op = self.take().value
            factor = self.unary()
            factors.append(_inverse(factor) if op == "/" else factor)
        return _mul(factors)

    def unary(self) -> sp.Expr:
        if self.at_op("+", "-"):
            sign = self.take().value
            self.enter()
            value = self.unary()
            self.leave()
            return _neg(value) if sign == "-" else value
        return self.implicit()

    def implicit(self, function_argument: bool = False) -> sp.Expr:
        factors = [self.power()]
        while self.starts_factor(function_argument):
            factors.append(self.power())
        return _mul(factors)

    def starts_factor(self, function_argument: bool) -> bool:
        token = self.peek()
        if token is None:
            return False
        if token.kind in ("num", "letter"):
            return True
        if token.kind == "op":
            if token.value == "|":
                return self.abs_depth == 0
            return token.value in "([{"
        # A function after an unparenthesized argument ends it: \sin x \cos y = sin(x)cos(y).
        if function_argument:
            if token.value in _LATEX_FUNCTIONS or token.value in _NAME_COMMANDS:
                return False
            following = self.peek(1)
            if token.value == "sigma" and following is not None and following.is_op("(", "^"):
                return False
        return True

    def power(self) -> sp.Expr:
        base = self.atom()
        # Only a bare \sigma^{...} (a symbol power) sets the flag, as the atom's last step.
        scripted, self.scripted = self.scripted, False
        if self.at_op("^"):
            if scripted:
                raise self.fail(self.peek(), *_DOUBLE_SUPERSCRIPT)
            self.take()
            exponent = self.script("^")
            base = _pow(base, exponent)
        if self.at_op("^"):
            raise self.fail(self.peek(), *_DOUBLE_SUPERSCRIPT)
        if self.at_op("_"):
            raise self.fail(self.peek(), "put the subscript before the superscript, e.g. "
                            "x_{1}^{2}", "下标要写在上标前面，例如 x_{1}^{2}")
        return base

    def group(self, closer: str) -> sp.Expr:
        if self.at_op(closer):
            raise self.fail(self.peek(), "empty brackets", "括号里是空的")
        saved, self.abs_depth = self.abs_depth, 0
        value = self.expr()
        self.abs_depth = saved
        self.expect(closer)
        return value

    def script(self, mark: str, on_function: bool = False) -> sp.Expr:
        """The argument of ``^`` or of ``\\frac``: a braced group or one single token. A signed
        exponent ``on_function`` is not ambiguous: ``\\cos^-1 x`` can only be \\cos^{-1} x."""
        token = self.peek()
        if token is None:
            raise said(f"LaTeX syntax error: {mark} needs an argument",
                       f"LaTeX 语法错误：{mark} 需要一个参数")
        if token.is_op("{"):
            self.take()
            self.enter()
            value = self.group("}")
            self.leave()
            return value
        if token.is_op("-", "+"):
            if mark != "^":
                raise self.fail(token, f"use braces for a signed argument of {mark}",
                                f"{mark} 的参数带正负号时要加花括号")
            # e^-z as students type it: the sign and one token, e^{-z}
            self.take()
            value = self.script(mark)
            following = self.peek()
            if not on_function and following is not None and following.kind in ("num", "letter"):
                raise self.fail(token, "ambiguous signed exponent: use braces, e.g. e^{-2x} "
                                "or e^{-2}x", "带正负号的指数有歧义：请加花括号，例如 e^{-2x} 或 e^{-2}x")
            return _neg(value) if token.value == "-" else value
        if token.kind == "num":
            if len(token.value) == 1:
                self.take()
                return _number(token.value)
            if mark == "^":
                # x^10 as students type it means x^{10}, not TeX's x^{1}0
                self.take()
                return _number(token.value)
            if mark == "_":
                raise self.fail(token, f"ambiguous {mark}{token.value}: write "
                                f"{mark}{{{token.value}}}",
                                f"{mark}{token.value} 有歧义：请写 {mark}{{{token.value}}}")
            if "." in token.value[:2]:
                raise self.fail(token, f"write decimals in braces after {mark}, e.g. "
                                f"{mark}{{0.5}}", f"{mark} 后面的小数要加花括号，例如 {mark}{{0.5}}")
            # TeX reads one character: \frac12 is 1/2.
            self.tokens[self.pos] = _Token("num", token.value[1:], token.col + 1)
            return _number(token.value[0])
        if token.kind == "letter" or (token.kind == "cmd" and (
                token.value in _GREEK or token.value in _GREEK_VARIANTS or token.value == "pi")):
            self.take()
            return self.symbol_from(token, allow_subscript=False)
        raise self.fail(token, f"use braces around the argument of {mark}",
                        f"{mark} 的参数要加花括号")

    def subscript_name(self) -> str:
        """The text of a subscript after ``_``: letters, digits and Greek names."""
        start = self.take()
        token = self.peek()
        if token is None:
            raise self.fail(start, "a subscript needs an argument", "下标需要内容")
        if token.is_op("{"):
            self.take()
            parts = []
            while not self.at_op("}"):
                part = self.take()
                parts.append(self.subscript_part(part))
            self.take()
            if not parts:
                raise self.fail(start, "empty subscript", "下标是空的")
            return "".join(parts)
        self.take()
        if token.kind == "num" and len(token.value) > 1:
            raise self.fail(token, f"ambiguous subscript _{token.value}: write _{{{token.value}}}",
                            f"下标 _{token.value} 有歧义：请写 _{{{token.value}}}")
        return self.subscript_part(token)

    def subscript_part(self, token: _Token) -> str:
        if token.kind in ("letter", "num") and "." not in token.value:
            return token.value
        if token.kind == "cmd" and token.value in _GREEK:
            return token.value
        if token.kind == "cmd" and token.value in _GREEK_VARIANTS:
            return _GREEK_VARIANTS[token.value]
        raise self.fail(token, "subscripts may hold only letters, digits and Greek letters",
                        "下标只能含字母、数字和希腊字母")

    def symbol_from(self, token: _Token, allow_subscript: bool = True) -> sp.Expr:
        if token.kind == "letter":
            name = token.value
        elif token.value in ("pi", "varpi"):
            return S.Pi
        else:
            name = _GREEK_VARIANTS.get(token.value, token.value)
        if allow_subscript and self.at_op("_"):
            return sp.Symbol(f"{name}_{self.subscript_name()}")
        if name == "e" and token.kind == "letter":
            return S.Exp1
        if name == "E" and token.kind == "letter":
            raise self.fail(token, "E is ambiguous in LaTeX: write e for Euler's number, or "
                            "use another letter", "E 在 LaTeX 里有歧义：自然常数请写 e，否则换一个字母")
        return sp.Symbol(name)

    def atom(self) -> sp.Expr:
        token = self.peek()
        if token is None:
            raise _early_end()
        if token.kind == "num":
            self.take()
            return _number(token.value)
        if token.kind == "letter":
            self.take()
            return self.symbol_from(token)
        if token.kind == "op":
            return self.bracketed(token)
        return self.command(token)

    def bracketed(self, token: _Token) -> sp.Expr:
        closers = {"(": ")", "[": "]", "{": "}"}
        if token.value in closers:
            self.take()
            self.enter()
            value = self.group(closers[token.value])
            self.leave()
            return value
        if token.value == "|":
            self.take()
            self.enter()
            self.abs_depth += 1
            value = self.expr()
            self.abs_depth -= 1
            self.expect("|")
            self.leave()
            return _call("abs", [value])
        raise self.unexpected(token)

    def command(self, token: _Token) -> sp.Expr:
        name = token.value
        if name in _GREEK or name in _GREEK_VARIANTS or name == "pi":
            self.take()
            if name == "sigma" and (self.at_op("(", "^")):
                return self.sigma(token)
            return self.symbol_from(token)
        if name in ("frac", "dfrac", "tfrac"):
            self.take()
            if self.leibniz():
                raise self.fail(token, "derivatives (d/dx) are not supported: give the function "
                                "and choose the variables with --wrt",
                                "不支持导数（d/dx）：请给出函数，用 --wrt 选择变量")
            numerator = self.script("\\frac")
            denominator = self.script("\\frac")
            return _mul([numerator, _inverse(denominator)])
        if name == "sqrt":
            self.take()
            return self.sqrt()
        if name in _LATEX_FUNCTIONS:
            self.take()
            return self.function(_LATEX_FUNCTIONS[name], token)
        if name in _NAME_COMMANDS:
            self.take()
            return self.named(token)
        if name in _ACCENTS:
            self.take()
            return self.accent(token)
        if name in _REFUSED:
            raise self.fail(token, *_REFUSED[name])
        raise self.fail(token, f"unsupported LaTeX command \\{name}", f"不支持的 LaTeX 命令 \\{name}")

    def leibniz(self) -> bool:
        """Whether a ``\\frac`` starts like d/dx: {d...}{d<letter>...}, which would otherwise
        read silently as a quotient of products."""
        def starts_with_d(at: int) -> int | None:
            first = self.peek(at)
            if first is None or not first.is_op("{"):
                return None
            second = self.peek(at + 1)
            return at + 2 if second is not None and second.kind == "letter" \
                and second.value == "d" else None

        after = starts_with_d(0)
        if after is None:
            return False
        depth, index = 1, after
        while depth and self.peek(index) is not None:
            token = self.peek(index)
            depth += token.is_op("{") - token.is_op("}")
            index += 1
        after = starts_with_d(index)
        following = self.peek(after) if after is not None else None
        return following is not None and (following.kind == "letter" or (
            following.kind == "cmd" and following.value in _GREEK))

    def sigma(self, token: _Token) -> sp.Expr:
        """``\\sigma(z)`` and ``\\sigma^{2}(z)`` are the sigmoid; otherwise a symbol sigma."""
        power = None
        if self.at_op("^"):
            self.take()
            power = self.script("^")
            if not self.at_op("("):
                self.scripted = True
                return _pow(sp.Symbol("sigma"), power)
        value = self.apply("sigmoid", token, self.arguments(token))
        return value if power is None else _pow(value, power)

    def sqrt(self) -> sp.Expr:
        index = None
        if self.at_op("["):
            self.take()
            self.enter()
            index = self.group("]")
            self.leave()
        radicand = self.script("\\sqrt")
        if index is None:
            return _sqrt(radicand)
        return _pow(radicand, _inverse(index))

    def named(self, token: _Token) -> sp.Expr:
        """``\\operatorname{ReLU}(z)``, ``\\mathrm{softplus}(z)``, or a named symbol."""
        self.expect("{")
        parts = []
        while not self.at_op("}"):
            part = self.take()
            if part.kind in ("letter", "num") or (part.kind == "cmd" and part.value == "_"):
                parts.append(part.value)
            elif part.is_op("_"):
                parts.append("_")
            else:
                raise self.fail(part, f"unexpected {part.show()!r} in \\{token.value}{{...}}",
                                f"\\{token.value}{{...}} 里有意外的 {part.show()!r}")
        self.take()
        word = "".join(parts)
        key = word.lower().replace("_", "")
        if key in _OPERATOR_NAMES:
            return self.function(_OPERATOR_NAMES[key], token)
        if word == "e" and token.value != "operatorname":
            return S.Exp1  # \mathrm{e}, the upright e of ISO notation
        if token.value == "operatorname" or self.at_op("("):
            known = "ReLU, LeakyReLU, softplus, sigmoid, HardSigmoid, exp, log, sqrt, abs, max, min"
            raise self.fail(token, f"unknown function {word!r}; known: {known}, "
                            f"the trigonometric and hyperbolic functions and their inverses",
                            f"未知函数 {word!r}；已知：{known}，以及三角函数、双曲函数和它们的反函数")
        problem = _name_problem(word) if word else said("empty name", "名字是空的")
        if problem:
            raise self.fail(token, str(problem), problem.zh)
        return sp.Symbol(word)

    def accent(self, token: _Token) -> sp.Expr:
        """``\\hat{y}`` → ``yhat``: the names SymPy prints back as ``\\hat{y}``."""
        self.expect("{")
        inner = self.take()
        if inner.kind == "letter":
            name = inner.value
        elif inner.kind == "cmd" and (inner.value in _GREEK or inner.value in _GREEK_VARIANTS):
            name = _GREEK_VARIANTS.get(inner.value, inner.value)
        else:
            raise self.fail(inner, f"\\{token.value}{{...}} takes one letter",
                            f"\\{token.value}{{...}} 里只能有一个字母")
        self.expect("}")
        name += _ACCENTS[token.value]
        if self.at_op("_"):
            name = f"{name}_{self.subscript_name()}"
        return sp.Symbol(name)

    def function(self, name: str, token: _Token) -> sp.Expr:
        alpha = None
        if self.at_op("_"):
            if name not in ("leaky_relu", "log"):
                raise self.fail(self.peek(), f"\\{token.value} takes no subscript",
                                f"\\{token.value} 不能带下标")
            self.take()
            # the slope of LeakyReLU, or the base of \log_2 x
            alpha = self.script("_")
        power = None
        if self.at_op("^"):
            self.take()
            power = self.script("^", on_function=True)
            if name in _INVERSE_TRIG and power == -1:
                name, power = _INVERSE_TRIG[name], None
        if self.at_op("(", "["):
            args = self.arguments(token)
        elif self.at_op("{"):
            self.take()
            self.enter()
            args = [self.group("}")]
            self.leave()
        else:
            if name in ("max", "min"):
                raise self.fail(token, f"\\{token.value} needs parentheses: \\{token.value}(a, b)",
                                f"\\{token.value} 需要圆括号：\\{token.value}(a, b)")
            self.enter()
            if self.at_op("-", "+"):
                sign = self.take().value
                arg = self.implicit(function_argument=True)
                arg = _neg(arg) if sign == "-" else arg
            else:
                if self.peek() is None:
                    raise self.fail(token, f"\\{token.value} needs an argument",
                                    f"\\{token.value} 需要一个参数")
                arg = self.implicit(function_argument=True)
            # \sin \pi/2 is sin(π/2), as TeX users mean it: a division by a number stays in
            # the argument (\log x/\log 2 is still log(x)/log(2))
            while self.at_op("/") and self.peek(1) is not None and self.peek(1).kind == "num":
                self.take()
                arg = _mul([arg, _inverse(self.power())])
            self.leave()
            args = [arg]
        if alpha is not None:
            if len(args) != 1:
                raise self.fail(token, f"\\{token.value} takes one argument and its "
                                f"{'base' if name == 'log' else 'slope'} as a subscript",
                                f"\\{token.value} 只接受一个参数，"
                                f"{'底数' if name == 'log' else '斜率'}写成下标")
            args = [args[0], alpha]
        value = self.apply(name, token, args)
        return value if power is None else _pow(value, power)

    def arguments(self, token: _Token) -> list:
        opener = self.take()
        closer = ")" if opener.value == "(" else "]"
        self.enter()
        saved, self.abs_depth = self.abs_depth, 0
        if self.at_op(closer):
            raise self.fail(opener, f"\\{token.value}() needs an argument",
                            f"\\{token.value}() 需要一个参数")
        args = [self.expr()]
        while self.at_op(","):
            self.take()
            args.append(self.expr())
        self.abs_depth = saved
        self.expect(closer)
        self.leave()
        return args

    def apply(self, name: str, token: _Token, args: list) -> sp.Expr:
        try:
            return _call(name, args)
        except DeriveError as err:
            if "takes" in str(err):
                raise self.fail(token, str(err), err.zh) from None
            raise


@_guarded
@_work_limited
def parse_latex_expression(text: str) -> sp.Expr:
    """Parse a LaTeX formula from the notes (``\\frac{1}{1+e^{-z}}``, ``\\sigma(z)``) safely.

    Parameters
    ----------
    text : str
        LaTeX math (without ``$`` delimiters); see the module docstring for the subset.

    Returns
    -------
    sympy.Expr
        The same kind of expression ``parse_expression`` returns.

    Raises
    ------
    DeriveError
        With a one-line message for any invalid, unsupported or oversized input.
    """
    _check_text(text, "LaTeX expression")
    # Math delimiters ($...$, $$...$$) are dropped; blanks keep the columns of messages right.
    body = _DOLLARS.sub(lambda m: " " * len(m.group()), text)
    parser = _LatexParser(body)
    if not parser.tokens:
        raise said("empty LaTeX expression", "LaTeX 表达式是空的")
    try:
        expr = parser.parse()
    except RecursionError:
        raise said("LaTeX expression too deeply nested", "LaTeX 表达式嵌套太深") from None
    return validate_expression(expr)


# ----------------------------------------------------------------------------------------
# Validation of a finished tree
# ----------------------------------------------------------------------------------------

_ALLOWED_FUNCTIONS = (sigmoid, relu, leaky_relu, softplus, hard_sigmoid, sp.exp, sp.log,
                      sp.Abs, sp.erf, sp.Max, sp.Min, *(getattr(sp, n) for n in _TEXTBOOK_FUNCTIONS))


# \sin^{2}, \cos^-1, \operatorname{sech}^2: a function command with a power on its name.
_LATEX_FUNCTION_POWER = re.compile(
    r"\\(?:(?:operatorname|mathrm)\s*\{\s*)?([A-Za-z]+)\s*\}?\s*\^\s*"
    r"(\{[^{}]*\}|[-+]?\s*\d+|[A-Za-z])")


def function_readings(text: str, from_latex: bool = False) -> list:
    """How the powers written on functions' names in ``text`` are read: one
    ``derive.parse_prefix.Reading`` each (``sin^2 x`` is (sin x)², ``cos^-1 x`` arccos x), for
    the statement to say so. ``text`` is assumed to parse."""
    if not from_latex:
        return prefix_rewrite(text, _PREFIX_FUNCTIONS, _INVERSE_TRIG)[2]
    readings = []
    for match in _LATEX_FUNCTION_POWER.finditer(text):
        name = _LATEX_FUNCTIONS.get(match.group(1)) or _OPERATOR_NAMES.get(match.group(1).lower())
        if name is None:
            continue
        exponent = match.group(2).strip("{}").replace(" ", "")
        readings.append(Reading(name, exponent, exponent == "-1" and name in _INVERSE_TRIG))
    return readings


@_guarded
def validate_expression(expr) -> sp.Expr:
    """Check that ``expr`` uses only the allowed functions, sizes and values.

    Parameters
    ----------
    expr : sympy.Expr
        A scalar expression, e.g. from ``parse_expression`` or ``parse_latex_expression``.

    Returns
    -------
    sympy.Expr
        ``expr`` itself.

    Raises
    ------
    DeriveError
        If it holds another function, a complex or undefined value, a too-large number or
        power, or more than ``MAX_TREE_NODES`` nodes.
    """
    if not isinstance(expr, sp.Expr):
        raise said(f"not a scalar expression: {type(expr).__name__}",
                   f"不是标量表达式：`{type(expr).__name__}`")
    stack = [expr]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_TREE_NODES:
            raise said(f"expression too large: more than {MAX_TREE_NODES} nodes",
                       f"表达式太大：超过 {MAX_TREE_NODES} 个节点")
        _inspect(node)
        if node.is_Atom:
            if node.is_Symbol or node is S.Pi or node is S.Exp1 or node.is_Rational:
                continue
            if node.is_Float and node.is_finite:
                continue
            if node is S.ImaginaryUnit:
                raise _complex()
            if node in _UNDEFINED:
                raise _undefined()
            raise said(f"unsupported value {type(node).__name__} in the expression",
                       f"表达式里有不支持的值 `{type(node).__name__}`")
        if node.is_Pow:
            base, exp = node.args
            if (base.is_number and base.is_negative and exp.is_Rational
                    and not exp.is_integer):
                raise said("the expression has a complex value (a fractional power of "
                           "a negative number)", "表达式的值是复数（负数的分数次幂）")
            _check_pow(base, exp)
        elif isinstance(node, sp.exp):
            _check_exp(node.args[0])
        elif not (node.is_Add or node.is_Mul or isinstance(node, _ALLOWED_FUNCTIONS)):
            raise said(f"unsupported operation {type(node).__name__} in the expression",
                       f"表达式里有不支持的运算 `{type(node).__name__}`")
        stack.extend(node.args)
    return expr


# ----------------------------------------------------------------------------------------
# --wrt and --at
# ----------------------------------------------------------------------------------------


@_guarded
def check_wrt(expr: sp.Expr, names) -> list[sp.Symbol]:
    """Map ``--wrt`` names to the symbols of ``expr``.

    Parameters
    ----------
    expr : sympy.Expr
        The parsed expression.
    names : list of str, or str
        Variable names, in the order wanted; a string is split on commas.

    Returns
    -------
    list of sympy.Symbol
        The expression's own symbols, in the order of ``names``.

    Raises
    ------
    DeriveError
        If a name is empty, repeated, or does not occur in ``expr``.
    """
    if isinstance(names, str):
        names = names.split(",")
    names = [str(n).strip() for n in names]
    if not names or not any(names):
        raise said("--wrt: no variable given", "--wrt：没有给出变量")
    symbols = {s.name: s for s in expr.free_symbols}
    listing = ", ".join(sorted(symbols)) or "none"
    listing_zh = ", ".join(sorted(symbols)) or "无"
    result = []
    for name in names:
        if not name:
            raise said("--wrt: empty variable name", "--wrt：变量名是空的")
        if name not in symbols:
            hint, hint_zh = _glued_hint(name, symbols)
            raise said(f"{name} does not occur in the expression (symbols: {listing}){hint}",
                       f"表达式里没有 {name}（符号：{listing_zh}）{hint_zh}")
        if symbols[name] in result:
            raise said(f"--wrt: {name} is given twice", f"--wrt：{name} 给了两次")
        result.append(symbols[name])
    return result


# A function's name glued to its argument, as in sin2x: the name and the digits after it.
_GLUED_CALL = re.compile(r"(a?(?:sin|cos|tan|sec|csc|cot)h?|ln|log|exp|sqrt)(\d*)")


def _glued_hint(name: str, symbols) -> tuple[str, str]:
    """What to type, in English and in Chinese, when ``name`` occurs only glued into a longer
    name: ax read as one name where a·x was meant, sin2x where sin(2x) was."""
    glued = sorted(s for s in symbols if len(s) > len(name) and s.endswith(name))
    if not glued:
        return "", ""
    head = glued[0][:-len(name)]
    call = _GLUED_CALL.fullmatch(head)
    if call:
        written = f"{call[1]}({call[2]}{name})"
        return f"; for the function write {written}", f"；函数要写成 {written}"
    if head.isalpha():
        return (f"; for a product write {head}*{name} or {head} {name}",
                f"；乘积要写成 {head}*{name} 或 {head} {name}")
    return "", ""


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """``text`` split at ``separator`` where it stands outside every bracket."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


@_guarded
def parse_point(text: str, allowed_names: Iterable | None = None) -> dict:
    """Parse an ``--at`` point such as ``a=1,b=-0.5,c=pi/4``.

    Parameters
    ----------
    text : str
        Comma-separated ``name=value`` pairs; each value is a number written in the
        expression syntax (``-0.5``, ``1/3``, ``pi/4``, ``exp(1)``).
    allowed_names : iterable of str or sympy.Symbol, optional
        The variables that may be given (e.g. the expression's symbols).

    Returns
    -------
    dict
        ``{Symbol(name): value}`` in the order given; exact values stay ``Rational``, others
        become a ``Float`` with 30 digits past the point's integer part.

    Raises
    ------
    DeriveError
        If a pair is malformed, a name is repeated, unknown or reserved, or a value is not a
        real number.
    """
    _check_text(text, "--at point")
    allowed = None
    if allowed_names is not None:
        allowed = {getattr(n, "name", str(n)) for n in allowed_names}
    point: dict = {}
    for item in split_top_level(text):
        if not item.strip():
            raise said("--at: empty entry (write name=value,name=value)",
                       "--at：有一项是空的（写成 name=value,name=value）")
        name, sep, value_text = item.partition("=")
        name, value_text = name.strip(), value_text.strip()
        if not sep or not name or not value_text:
            raise said(f"--at: expected name=value, got {_snippet(item)!r}",
                       f"--at：应为 name=value，实为 {_snippet(item)!r}")
        if name in _CONSTANTS or name == "lambda":
            if name != "lambda":
                raise said(f"--at: {name} is a constant, not a variable",
                           f"--at：{name} 是常数，不是变量")
        else:
            problem = _name_problem(name)
            if problem:
                raise extended(problem, "--at: ", before_zh="--at：")
        if allowed is not None and name not in allowed:
            listing = ", ".join(sorted(allowed))
            raise said(f"--at: {name} is not a variable of the expression "
                       f"(variables: {listing or 'none'})",
                       f"--at：{name} 不是表达式的变量（变量：{listing or '无'}）")
        symbol = sp.Symbol(name)
        if symbol in point:
            raise said(f"--at: {name} is given twice", f"--at：{name} 给了两次")
        try:
            value = parse_expression(value_text)
        except DeriveError as err:
            raise extended(err, f"--at {name}: ", before_zh=f"--at {name}：") from None
        if value.free_symbols:
            raise said(f"--at: {_snippet(value_text)} is not a number",
                       f"--at：{_snippet(value_text)} 不是数")
        if not value.is_Rational:
            rough = value.evalf(30)
            if not (rough.is_Float and rough.is_finite):
                raise said(f"--at: {_snippet(value_text)} is not a real number",
                           f"--at：{_snippet(value_text)} 不是实数")
            # 30 significant digits after the point's own integer digits: cos(exp(200)) needs
            # exp(200) to 30 places past its 87 integer digits, not to 30 digits in all
            whole = int(abs(rough)).bit_length() * 0.30103 if abs(rough) >= 1 else 0
            value = value.evalf(30 + int(whole) + 1) if whole > 0 else rough
        point[symbol] = value
    return point
