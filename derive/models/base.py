"""What every model is: a name, a one-line summary, its options, a derivation and, where it has
them, a computation graph and a network to train (``derive.network``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import said


@dataclass(frozen=True)
class Option:
    """One model option, shown as ``--NAME`` on the model's command."""

    name: str
    default: Any
    help: str
    choices: tuple | None = None
    minimum: int | None = None

    def coerce(self, value):
        """Validate ``value`` (already typed like ``default``) or raise DeriveError."""
        if self.choices is not None and value not in self.choices:
            flag, choices = self.name.replace("_", "-"), ", ".join(map(str, self.choices))
            raise said(f"--{flag} must be one of {choices}, not {value!r}",
                       f"--{flag} 必须是 {choices} 之一，而不是 {value!r}")
        if self.minimum is not None:
            flag = self.name.replace("_", "-")
            if isinstance(value, bool) or not isinstance(value, int):
                raise said(f"--{flag} must be an integer, not {value!r}", f"--{flag} 必须是整数，而不是 {value!r}")
            if value < self.minimum:
                raise said(f"--{flag} must be at least {self.minimum}, not {value}",
                           f"--{flag} 至少为 {self.minimum}，而不是 {value}")
        return value


def features_option(default: int) -> Option:
    return Option("features", default, "number of input features", minimum=1)


def hidden_option(default: int) -> Option:
    return Option("hidden", default, "number of hidden units", minimum=1)


def classes_option(default: int) -> Option:
    return Option("classes", default, "number of classes", minimum=2)


# A model's option values as Chinese words (``Model.options_text``), "{}" the value; an option
# not named here is written "name value".
_OPTIONS_ZH = {
    "features": "{} 个特征",
    "hidden": "隐藏层 {} 个单元",
    "classes": "{} 个类别",
    "activation": "激活函数 {}",
    "layers": "各层单元数 {}",
    "size": "图像 {0} × {0}",
    "filter": "过滤器 {0} × {0}",
    "padding": "填充 {}",
    "stride": "步长 {}",
    "seq_length": "序列长度 {}",
}


class Model:
    """A model of the notes. Subclasses set the class attributes and implement ``build``.

    Options are read as attributes: ``derive.model("mlp", hidden=32).hidden == 32``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    order: ClassVar[int] = 100          # position in the notes' teaching order
    options: ClassVar[tuple[Option, ...]] = ()
    trainable: ClassVar[bool] = False   # True exactly when ``network()`` describes one
    # The option values at which the derivation writes its definitions out (its small instance:
    # two features, two hidden units …); the network at these sizes has the derivation's loss.
    derivation_sizes: ClassVar[dict] = {}

    def __init__(self, **values):
        known = {o.name: o for o in self.options}
        unknown = sorted(set(values) - set(known))
        if unknown:
            accepted = ", ".join(known)
            raise said(f"model {self.name!r} has no option {unknown[0]!r} (options: {accepted or 'none'})",
                       f"模型 {self.name!r} 没有选项 {unknown[0]!r}（选项：{accepted or '无'}）")
        self.values = {
            name: option.coerce(values.get(name, option.default)) for name, option in known.items()
        }

    def __getattr__(self, item):
        values = self.__dict__.get("values", {})
        if item in values:
            return values[item]
        raise AttributeError(item)

    @property
    def sizes(self) -> dict:
        """The integer options (features, hidden, classes) that this model has."""
        return {k: v for k, v in self.values.items() if isinstance(v, int) and not isinstance(v, bool)}

    def options_text(self, lang: str = "en") -> str:
        """The option values, as a title shows them after the model's name: ``features=2,
        hidden=3`` in English, in Chinese words (``2 个特征，隐藏层 3 个单元``) under ``lang`` "zh";
        empty for a model without options."""
        if lang != "zh":
            return ", ".join(f"{k}={v}" for k, v in self.values.items())
        return "，".join(_OPTIONS_ZH.get(k, k + " {}").format(str(v).replace(",", "、"))
                        for k, v in self.values.items())

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"derive.model({self.name!r}{', ' if opts else ''}{opts})"

    def derivation(self):
        """The verified step-by-step derivation of this model (a ``Derivation``): the one the
        package ships for a built-in model with its default options (``derive.stored``), else
        built."""
        from ..stored import derivation
        from ..steps import Builder

        shipped = derivation(self)
        if shipped is not None:
            return shipped

        builder = Builder(self)
        self.build(builder)
        return builder.finish()

    def build(self, d) -> None:  # pragma: no cover - every model implements it
        raise NotImplementedError

    # Facets that some models have ---------------------------------------------------------------
    def network(self):
        """What ``numeric`` trains: a ``derive.network.Network`` at this model's options, or None
        for a model that is not trained."""
        return None

    def point(self) -> dict | None:
        """The point (leaf name or Symbol → value) at which the computation graph is drawn, or
        None for a model without a graph."""
        return None

    def graph_defs(self) -> dict | None:
        """The definitions the computation graph is drawn from; None: the derivation's own."""
        return None

    def graph_data(self) -> tuple:
        """The names of the graph's leaves that are data (a label y): drawn without a gradient."""
        return ()
