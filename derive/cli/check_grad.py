"""`derive check-grad`: compare a gradient with finite differences."""

from __future__ import annotations

import re

import click

from ..errors import DeriveError
from .output import format_option, given, model_options

# Why the complex step was found unsafe (numeric.fd.ComplexStepUnsafe, the checker's own test), in
# Chinese; an exception's own words are quoted as they are.
REASONS_ZH = (
    (re.compile(r"block (.+): the complex-step derivative \((\S+)\) disagrees with real differences \((\S+)\); "
                r"the loss drops the imaginary part \(abs, norm, a cast\?\)"),
     r"参数块 \1：复步长导数（\2）与实数差分（\3）不一致；损失函数丢掉了虚部（取绝对值、求范数，还是类型转换？）"),
    (re.compile(r"the real part of f\(x \+ ih\) differs from f\(x\)"), "f(x + ih) 的实部与 f(x) 不同"),
    (re.compile(r"the function returns a real number for a complex input"), "损失函数对复数输入返回了实数"),
    (re.compile(r"ComplexWarning: .*"), "ComplexWarning：把复数转换为实数时丢弃了虚部"),
    (re.compile(r"(\w+): (.*)"), r"\1：“\2”"),
)


def _complex_step_zh(match) -> str:
    """The note that the complex step is unsafe, in Chinese."""
    reason, blocks = match.groups()
    for english, chinese in REASONS_ZH:
        if english.fullmatch(reason):
            reason = english.sub(chinese, reason)
            break
    return f"复步长法不安全（{reason}）：" + ("每个参数块都改用中心差分" if blocks == "every block" else
                                      f"参数块 {blocks} 改用中心差分")


# The checker's notes in Chinese (梯度检验), by their English form.
NOTES_ZH = (
    (re.compile(r"finite differences on ([\d,]+) coordinates \(auto mode\)"), r"在 \1 个坐标上取有限差分（自动选择差分方法）"),
    (re.compile(r"finite differences on ([\d,]+) coordinates \((\w+) mode\)"), r"在 \1 个坐标上取有限差分（--mode \2）"),
    (re.compile(r"random data: (\d+) examples, parameters and data drawn with seed (\d+)"),
     r"随机数据：\1 个样本，参数与数据由随机种子 \2 生成"),
    (re.compile(r"block (\S+): derivatives along random directions"), r"参数块 \1：沿随机方向求方向导数"),
    (re.compile(r"re-checking ([\d,]+) of the ([\d,]+) entries that disagree"), r"重新检验 \2 个不一致元素中的 \1 个"),
    (re.compile(r"params (.+) are float32: evaluated in float64 \(cast up\)"),
     r"参数 \1 是 float32：转换为 float64 求值"),
    (re.compile(r"loss returns float32: steps and tolerances widened to float32 precision"),
     r"损失返回 float32：步长与容差放宽到 float32 精度"),
    (re.compile(r"loss computes in float32 inside \(rounding noise (\S+) relative\): steps and tolerances widened"),
     r"损失内部以 float32 计算（相对舍入噪声 \1）：步长与容差已放宽"),
    (re.compile(r"loss is noisy \(rounding noise (\S+) relative\): steps and tolerances widened"),
     r"损失有噪声（相对舍入噪声 \1）：步长与容差已放宽"),
    (re.compile(r"([\d,]+) parameters: checked a stratified sample of ([\d,]+) coordinates \(every block of up to "
                r"([\d,]+) entries entirely; seed (\d+)\) plus a directional derivative per block"),
     r"\1 个参数：检验了 \2 个坐标的分层抽样（不超过 \3 个元素的参数块全部检验；随机种子 \4），"
     r"另外每个参数块求一个方向导数"),
    (re.compile(r"complex step skipped: the loss computes in float32; central differences used"),
     r"未用复步长法：损失以 float32 计算；改用中心差分"),
    (re.compile(r"([\d,]+) parameters, more than ([\d,]+): each block checked along (\d+) random directions "
                r"\(seed (\d+)\); disagreeing blocks located by bisection over their entries, and the entries "
                r"found checked one by one \(([\d,]+) of them\)"),
     r"\1 个参数，超过 \2 个：每个参数块沿 \3 个随机方向检验（随机种子 \4）；不一致的参数块用二分法在其元素中定位，"
     r"找到的元素逐个检验（共 \5 个）"),
    (re.compile(r"(\w+) returns float32: its tolerance is widened to float32 precision"),
     r"\1 返回 float32：其容差放宽到 float32 精度"),
    (re.compile(r"(\w+\[.+\]) has shape (\(.*\)) for (params\[.+\]) of shape (\(.*\)): the same entries, read in "
                r"the parameter's shape"),
     r"\1 的形状是 \2，而 \3 的形状是 \4：元素相同，按参数的形状读取"),
    (re.compile(r"complex step unsafe \((.+)\): central differences used for (.+)"), _complex_step_zh),
    (re.compile(r"(.+) keys that name no parameter ignored: (.+)"), r"\1 中不对应任何参数的键已忽略：\2"),
    (re.compile(r"loss is the mean over the (\d+) examples of data"), r"损失是 data 中 \1 个样本上的平均值"),
)


def _note(message: str, lang: str = "en") -> None:
    if lang == "zh":
        message = _note_zh(message)
    click.echo(f"derive：{message}" if lang == "zh" else f"derive: {message}", err=True)


def _note_zh(message: str) -> str:
    """A note in Chinese, also after the file name that several files' notes begin with."""
    path, _, rest = message.partition(": ")
    for english, chinese in NOTES_ZH:
        if english.fullmatch(message):
            return english.sub(chinese, message)
        if rest and english.fullmatch(rest):
            return f"{path}：{english.sub(chinese, rest)}"
    return message


class MemorySize(click.ParamType):
    """``--memory``: a size such as 4G or 512M, or ``none``."""

    name = "SIZE"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, int):
            return value
        from numeric.isolate import parse_memory

        try:
            return parse_memory(str(value))
        except DeriveError as exc:
            self.fail(str(exc).removeprefix("--memory: "), param, ctx)


@click.command(name="check-grad")
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--model", "model_name", metavar="NAME", help="Check a built-in model's compiled gradient instead.")
@model_options(prefix="Built-in model: ")
@click.option("--mode", type=click.Choice(["auto", "central", "complex", "richardson"]), default="auto",
              show_default=True, help="How to take the finite differences.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling, directions and random data.")
@click.option("--max-coords", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Models with more parameters are checked on a stratified sample.")
@click.option("--directional-above", type=click.IntRange(min=0), default=50_000, show_default=True, metavar="N",
              help="Models with more parameters are checked along random directions per block, and only the "
                   "entries a disagreement leads to (by bisection) one by one.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              metavar="SECONDS", help="Time limit per model file (it runs in its own process).")
@click.option("--memory", type=MemorySize(), default="4G", show_default=True,
              help="Memory limit per model file (address space): 4G, 512M, or none.")
@click.option("--summary", type=click.Choice(["table", "csv", "json"]), is_flag=False, flag_value="table",
              default=None, help="One row per file (file, verdict, first wrong block, hint); the default "
                                 "for several files.")
@format_option("text: the report; json: the report as JSON.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en",
              help="Language of the report and its notes (one model or file).")
def check_grad(paths, model_name, mode, seed, max_coords, directional_above, timeout, memory, summary, fmt, json_,
               lang, **options):
    """Compare a model's gradient with finite differences, block by block.

    Each model file runs in its own process, stopped after --timeout seconds or at --memory.
    Exit status, one file: 0 every block passes, 1 a block fails, 2 a file that cannot be loaded
    or run to the end (it raised, exited, hung, ran out of memory or crashed), or bad usage.
    Several files (or --summary): 0 every file passes, 1 any file does not.

    \b
      derive check-grad examples/logistic_numpy.py
      derive check-grad examples/buggy_backprop.py --json
      derive check-grad homework/*.py --summary csv
      derive check-grad --model mlp --hidden 16
    """
    # A file's errors and the errors of the command line are said in --lang by derive.cli.main
    # (each DeriveError's zh).
    _check(paths, model_name, dict(mode=mode, seed=seed, max_coords=max_coords, directional_above=directional_above),
           timeout, memory, summary, json_ or fmt == "json", lang, options)


def _check(paths, model_name, opts, timeout, memory, summary, json_output, lang, options) -> None:
    from numeric.check.report import print_report
    from derive.errors import said

    def note(message):
        _note(message, lang)

    if model_name:
        if paths:
            raise said("give a model file or --model NAME, not both", "请给出模型文件或 --model 模型名，不要同时给出")
        from numeric.check.api import check_builtin

        report = check_builtin(model_name, options=given(options), progress=note, **opts)
    elif not paths:
        raise said("give a model file (derive check-grad model.py) or --model NAME",
                   "请给出模型文件（例如 model.py）或 --model 模型名")
    elif given(options):
        flags = ", ".join("--" + k.replace("_", "-") for k in options)
        raise said(f"{flags} go with --model", f"{flags} 只能与 --model 一起使用")
    elif summary or len(paths) > 1:
        from numeric.check.summary import check_files, render_summary, summary_status

        outcomes = list(check_files(paths, timeout=timeout, memory=memory, progress=note, **opts))
        click.echo(render_summary(outcomes, summary or ("json" if json_output else "table"), lang), nl=False)
        raise SystemExit(summary_status(outcomes))
    else:
        from numeric.isolate import check_file

        report = check_file(paths[0], timeout=timeout, memory=memory, progress=note, **opts)
    for text in report.notes:
        note(text)
    print_report(report, json_output=json_output, lang=lang)
    raise SystemExit(0 if report.ok else 1)
