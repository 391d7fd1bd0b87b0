"""The default word lists of the cleaning rules (`harness.config.schema.CleaningSpec`): long
vocabulary kept out of the schema so that the model stays readable; only the model refers to them.
Matched case-insensitively; a config's list replaces the default one."""

from __future__ import annotations

# Labels whose following text is the answer. Each matches when followed by an optional 是/为/如下 and a
# full-width or ASCII colon (`修改后的句子：`, `修改后的句子为:`), or when written in brackets (`【答案】`).
PREFIXES: tuple[str, ...] = (
    "修改后的句子", "修改后句子", "修改后的文本", "修改后的版本", "修改后", "修改结果", "修改句子", "修改",
    "修正后的句子", "修正后", "修正结果", "修正",
    "改正后的句子", "改正后", "改正",
    "纠正后的句子", "纠正后", "纠正",
    "更正后的句子", "更正后", "更正",
    "纠错后的句子", "纠错后", "纠错结果", "纠错",
    "改写后的句子", "改写后", "润色后", "优化后", "改后",
    "正确的句子", "正确句子", "正确的表述", "正确",
    "最终答案", "最终结果", "最终输出", "答案", "输出", "回答", "答", "结果", "预测", "句子", "应改为", "改为",
    "corrected sentence", "corrected", "correction", "revised sentence", "revised", "fixed sentence",
    "output", "answer", "result", "prediction", "sentence",
)
# Labels of the input restated by the model. The labelled text is stripped like a prefix; it is only used when
# the reply has nothing else (a reply `原句：A 修改后：B` gives B).
ORIGINAL_LABELS: tuple[str, ...] = (
    "原句子", "原句", "原文", "原始句子", "原始文本", "源句", "输入", "病句", "错误句子",
    "original sentence", "original", "source", "input",
)
# Labels that start an explanation: the label and everything after it (up to the next answer label) is cut.
EXPLANATION_LABELS: tuple[str, ...] = (
    "解释", "说明", "修改说明", "修改理由", "修改原因", "修改解释", "修改思路", "理由", "原因", "分析",
    "错误分析", "错误类型", "错误原因", "错误", "病因", "注", "注意", "备注", "提示", "修改建议", "建议",
    "explanation", "explanations", "note", "reason", "changes", "analysis",
)
# Words that make a short text before a colon (or before an opening quote) a lead-in, e.g.
# `以下是我修改后的句子：`, `下面是对上述句子进行修改后的原句：`, `Here is the corrected sentence:`.
LEADIN_CUES: tuple[str, ...] = (
    "修改后", "修正后", "改正后", "纠正后", "更正后", "改写后", "纠错后", "修改过", "修改的句子", "修改如下",
    "句子", "原句", "以下是", "下面是", "如下", "范例", "示例",
    "corrected", "correction", "revised", "here is", "here's", "sentence",
)
# Unlabelled sentence units that comment on the correction instead of being part of it.
EXPLANATION_CUES: tuple[str, ...] = (
    "这句话", "这个句子", "该句", "此句", "原句", "句子中", "句中", "修改为", "改为", "改成", "修改后", "修改了",
    "删除", "删去", "去掉", "加上", "添加", "补充", "语病", "病句", "通顺", "搭配", "成分残缺", "语序",
    "主语", "谓语", "宾语", "希望对你", "希望这", "如果您", "如果你", "还有其他", "请告诉我", "有帮助",
    "the sentence", "this sentence", "changed", "corrected", "because", "hope this", "let me know",
)
# Parts of the instruction or of few-shot blocks: the first five come from the GoodGap outputs
# (`请对下述句子进行修正。返回你修改后的句子，无需其它说明和解释。`, `下面是一些范例:`).
ECHO_MARKERS: tuple[str, ...] = (
    "请对下述句子进行修正", "下述句子", "返回你修改后的句子", "无需其它说明和解释", "下面是一些范例",
    "以下是一些范例", "一些范例", "无需其他说明", "请对以下句子", "请修改下面的句子", "请改正下面的句子",
    "请纠正下面的句子", "检测这个句子的语法错误", "你是一个", "你是一名",
    "you are a", "please correct", "correct the following", "return the corrected", "the following sentence",
    "here are some examples",
)
# Refusals, apologies and questions back to the user (`请问您想让我修改哪个句子呢?`).
REFUSAL_MARKERS: tuple[str, ...] = (
    "抱歉", "对不起", "很遗憾", "无法", "我不能", "不能完成", "作为一个AI", "作为AI", "作为一个人工智能",
    "作为人工智能", "人工智能助手", "语言模型", "请提供", "请问您", "您想让我", "哪个句子",
    "i'm sorry", "i am sorry", "sorry", "i cannot", "i can't", "i can not", "as an ai", "language model",
    "please provide", "which sentence",
)
# Statements that the sentence needs no correction.
NO_ERROR_MARKERS: tuple[str, ...] = (
    "没有错误", "没有语病", "无语病", "没有语法错误", "无语法错误", "不存在语病", "没有问题", "无需修改",
    "不需要修改", "无须修改", "无需修正", "不需要修正", "无需改动", "不需要改动", "是正确的", "句子正确",
    "原句正确", "表述正确",
    "no error", "is correct", "no correction", "no changes", "grammatically correct",
)
