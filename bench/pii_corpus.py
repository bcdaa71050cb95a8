"""The seeded corpus of call sentences that bench/pii_masking.py masks and scores.

The corpus is generated in memory from a seed (nothing is written): sentences a caller or an
agent says with a card number, an ID-card number, a mobile number, a CVV or a verification code
in them, in many written and spoken renderings (arabic, full-width, 一/幺, 两, 洞, 拐, 〇,
grouped by spaces, commas, dashes, 顿号 or 杠, fillers such as 嗯/那个/对 between groups, 三个六
for 666, ASR-style one-digit spacing, digits mixed with characters), said in one segment, split
across two or three segments of one turn, or said in answer to the other party's question; and
hard negatives: amounts, dates and installment counts (the ≤ 1 % figure), card / ID / phone
tails, hotlines, times, percentages and order numbers.

Templates, renderings, questions and negatives come in sets. The dev half is dev-1 (written
with the masker) plus dev-2 and dev-3, each of which was the held-out half until its figures
were recorded (bench/RESULTS.md) and was then looked at and fixed against. The held-out half
was written after that, from how these numbers are said on the phone, apart from the masker's
cue lists: only its figures are looked at (`--show` prints dev failures only).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pii_renderings import _DIGIT_CHARS, _PLAIN, NUMBERS, STYLE_SETS, _digits_of, spoken

KINDS = ("card", "id", "phone", "cvv", "code")
AMOUNT_DATE = ("amount", "date", "installments")
OTHER_NEGATIVES = ("tail", "hotline", "time", "percent", "order")
HALVES = ("dev", "held-out")


@dataclass
class Sample:
    kind: str
    segments: list[tuple[str, str]]  # (role, text), in order
    number: str = ""  # the digits said (X for an ID check digit); "" for negatives
    style: str = ""
    template: str = ""
    outputs: list[str] = field(default_factory=list)

    @property
    def single(self) -> bool:
        return len(self.segments) == 1


# Template and rendering sets. "dev" is dev-1..3: dev-1 was written with the masker; dev-2 and
# dev-3 were each the held-out half until its figures were recorded (bench/RESULTS.md), then
# looked at and fixed against. "held-out" was written after that: it is only reported.
DEV_SETS = ("dev-1", "dev-2", "dev-3")

# --- templates -----------------------------------------------------------------------
# (role, text with {n}). Written from how these numbers come up on the phone.

TEMPLATE_SETS = {
    "dev-1": {
        "card": [
            ("customer", "我的卡号是{n}"), ("customer", "卡号{n}，你帮我查一下"),
            ("customer", "嗯，卡号是{n}，对"), ("customer", "我这张信用卡的号码是{n}"),
            ("agent", "您的卡号是{n}，对吗？"), ("agent", "好的，卡号{n}，我记一下"),
            ("customer", "我念一下卡号啊，{n}"), ("customer", "{n}，这是我的卡号"),
            ("customer", "银行卡号{n}"), ("customer", "卡面上的数字是{n}"),
            ("customer", "就是我要还款的那张卡，{n}"), ("customer", "{n}这张卡昨天被冻结了"),
        ],
        "id": [
            ("customer", "我的身份证号是{n}"), ("customer", "身份证{n}"),
            ("customer", "证件号码是{n}"), ("agent", "您的身份证号码是{n}对吧"),
            ("customer", "身份证号码我报一下，{n}"), ("customer", "{n}，这是我身份证"),
            ("customer", "嗯，身份证是{n}，你核对一下"), ("customer", "我办卡用的是{n}这个身份证"),
        ],
        "phone": [
            ("customer", "我的手机号是{n}"), ("customer", "手机{n}"),
            ("customer", "你打我电话{n}"), ("customer", "联系电话是{n}"),
            ("customer", "预留的手机号码是{n}"), ("agent", "您的手机号是{n}对吗"),
            ("customer", "我换号了，新号码是{n}"), ("customer", "{n}，这是我手机"),
            ("customer", "嗯，{n}，白天都能打通"),
        ],
        "cvv": [
            ("customer", "卡背面的安全码是{n}"), ("customer", "安全码{n}"),
            ("customer", "背面三位数是{n}"), ("customer", "CVV是{n}"),
            ("customer", "卡背后那三位，{n}"), ("agent", "您卡背面的安全码是{n}吗"),
            ("customer", "背面最后三位{n}"),
        ],
        "code": [
            ("customer", "验证码是{n}"), ("customer", "我收到的验证码{n}"),
            ("customer", "短信验证码{n}，你看对不对"), ("customer", "动态码是{n}"),
            ("agent", "您收到的验证码是{n}吗"), ("customer", "密码是{n}"),
            ("customer", "我的取款密码是{n}"),
        ],
    },
    "dev-2": {
        "card": [
            ("customer", "我的信用卡是{n}"), ("customer", "账户号码：{n}"),
            ("customer", "那个卡的号是{n}吧"), ("customer", "呃，号码是{n}，您看一下"),
            ("customer", "我报一下，{n}，是这个"), ("customer", "是{n}这张卡被盗刷了"),
            ("customer", "卡片上写的{n}"), ("customer", "借记卡{n}，我想绑定一下"),
            ("customer", "帮我查下{n}这张卡的账单"), ("agent", "请核对卡号：{n}"),
            ("customer", "完整的卡号是{n}，没错"), ("customer", "我的卡，{n}，就这张"),
        ],
        "id": [
            ("customer", "我证件号{n}"), ("customer", "身份证上的号码是{n}"),
            ("customer", "我的身份号码是{n}啊"), ("customer", "是{n}，我的身份证"),
            ("customer", "我报一下身份信息，{n}"), ("customer", "居民身份证号码{n}"),
            ("customer", "开户用的证件是{n}"), ("agent", "跟您核对一下证件号，{n}"),
        ],
        "phone": [
            ("customer", "打这个号{n}就行"), ("customer", "我的号码{n}"),
            ("customer", "你们发短信到{n}吧"), ("customer", "联系方式：{n}"),
            ("customer", "回拨到{n}"), ("customer", "电话号码是{n}，随时打"),
            ("customer", "我老公的手机{n}"), ("customer", "加我微信，{n}"),
            ("agent", "您登记的号码是{n}"),
        ],
        "cvv": [
            ("customer", "卡片背面签名条上的三位数字是{n}"), ("customer", "后面那个三位的码，{n}"),
            ("customer", "cvv2是{n}"), ("customer", "安全码我说一下，{n}"),
            ("customer", "卡背面印着{n}"), ("customer", "背面的数字是{n}"),
            ("customer", "卡的校验码{n}"),
        ],
        "code": [
            ("customer", "短信里的码是{n}"), ("customer", "校验码{n}"),
            ("customer", "手机上收到的六位数字是{n}"), ("customer", "交易密码{n}"),
            ("customer", "登录密码我设的是{n}"), ("customer", "刚收到短信，{n}"),
            ("customer", "动态密码{n}"), ("agent", "系统发给您的验证码是不是{n}"),
        ],
    },
    "dev-3": {
        "card": [
            ("customer", "卡号我念给你听，{n}"), ("customer", "你记一下，{n}，这是卡号"),
            ("customer", "嗯，{n}"), ("customer", "号是{n}"), ("customer", "我想查{n}的账单"),
            ("customer", "主卡是{n}，副卡还没激活"), ("customer", "卡号：{n}。"),
            ("customer", "我刚绑的卡{n}"), ("customer", "帮我把{n}这张卡挂失"),
            ("agent", "跟您确认一下，卡号{n}"), ("customer", "信用卡卡号呢，是{n}"),
        ],
        "id": [
            ("customer", "身份证号{n}，名字是张伟"), ("customer", "证件号是{n}"),
            ("customer", "你记一下身份证，{n}"), ("customer", "{n}，身份证"),
            ("customer", "二代身份证{n}"), ("customer", "我老婆的身份证是{n}"),
            ("agent", "身份证号码{n}，没错吧"), ("customer", "身份证号码呢是{n}"),
        ],
        "phone": [
            ("customer", "手机号码{n}"), ("customer", "我的电话{n}"), ("customer", "打{n}找我"),
            ("customer", "我手机是{n}，有事打"), ("customer", "号码换成{n}了"),
            ("customer", "你可以拨{n}"), ("customer", "微信就是手机号{n}"),
            ("agent", "来电号码是{n}吗"), ("customer", "{n}是我本人的号码"),
        ],
        "cvv": [
            ("customer", "卡背面三个数字{n}"), ("customer", "安全码是{n}对吧"),
            ("customer", "CVN是{n}"), ("customer", "背面那个码是{n}"),
            ("customer", "卡背面的码，{n}"), ("agent", "卡片背面安全码{n}，我帮您验证"),
            ("customer", "背面三位：{n}"), ("customer", "CVV2：{n}"),
        ],
        "code": [
            ("customer", "验证码：{n}"), ("customer", "短信验证码是{n}"),
            ("customer", "我收到{n}这个验证码"), ("customer", "刚发的验证码{n}"),
            ("customer", "动态验证码{n}"), ("customer", "支付密码{n}"),
            ("customer", "查询密码设置成{n}"), ("agent", "验证码{n}，五分钟内有效"),
        ],
    },
    "held-out": {
        "card": [
            ("customer", "这是我的储蓄卡，卡号{n}"), ("customer", "卡号的话是{n}"),
            ("customer", "我说一下卡号，{n}，你查查"), ("customer", "嗯…{n}，就是这张"),
            ("customer", "我那张卡号码为{n}"), ("customer", "麻烦查一下卡号为{n}的账户"),
            ("agent", "您尾号不对，完整卡号是{n}吗"), ("customer", "我用{n}还的款"),
            ("customer", "新卡卡号{n}"),
        ],
        "id": [
            ("customer", "我身份证号码为{n}"), ("customer", "证件类型身份证，号码{n}"),
            ("customer", "身份证：{n}"), ("customer", "给你说一下身份证号，{n}"),
            ("agent", "您登记的证件号是{n}"), ("customer", "我女儿的身份证号{n}"),
            ("customer", "身份证号是多少来着，哦，{n}"),
        ],
        "phone": [
            ("customer", "我手机号码为{n}"), ("customer", "你打{n}这个电话"),
            ("customer", "留个电话，{n}"), ("customer", "我的联系电话：{n}"),
            ("customer", "电话打{n}"), ("customer", "手机号是这个{n}"),
            ("agent", "我们会致电{n}"), ("customer", "你给我打回来吧，{n}"),
        ],
        "cvv": [
            ("customer", "背面的安全码为{n}"), ("customer", "卡背面那三位数字是{n}"),
            ("customer", "那个CVV是{n}"), ("customer", "安全码是三位数，{n}"),
            ("agent", "请确认安全码{n}"), ("customer", "卡背后的三位是{n}"),
            ("customer", "背后那个数{n}"),
        ],
        "code": [
            ("customer", "验证码为{n}"), ("customer", "收到了，验证码是{n}"),
            ("customer", "那个验证码{n}"), ("customer", "短信发来的是{n}"),
            ("customer", "我的密码是{n}，是不是被盗了"), ("agent", "请输入验证码{n}"),
            ("customer", "动态口令{n}"), ("customer", "验证码我念一下，{n}"),
        ],
    },
}  # fmt: skip

# The other party asks, this role answers with the bare number.
QUESTION_SETS = {
    "dev-1": {
        "card": ["请您提供一下卡号", "麻烦报一下您的卡号"],
        "id": ["请问您的身份证号是多少", "麻烦您说一下身份证号码"],
        "phone": ["您的手机号是多少", "留一个联系电话吧"],
        "cvv": ["请说一下卡背面的三位安全码", "安全码是多少"],
        "code": ["您把收到的验证码告诉我", "请问验证码是多少"],
    },
    "dev-2": {
        "card": ["卡号多少？", "您要查的是哪张卡，号码报一下"],
        "id": ["证件号码说一下", "需要您的身份证号核实一下"],
        "phone": ["您方便留个电话吗", "手机号码是？"],
        "cvv": ["卡片背面那三位数是多少", "CVV码报一下"],
        "code": ["短信动态码是多少", "您手机刚收到的码念一下"],
    },
    "dev-3": {
        "card": ["您说一下卡号好吗", "请问是哪张卡，卡号是多少"],
        "id": ["请提供身份证号码", "身份证号多少"],
        "phone": ["请问您的联系电话", "您留的电话是多少"],
        "cvv": ["卡背后那个安全码呢", "请提供一下CVV"],
        "code": ["您手机收到验证码了吗，是多少", "请念一下短信验证码"],
    },
    "held-out": {
        "card": ["请把卡号告诉我", "卡号是多少呢"],
        "id": ["方便提供证件号吗", "您的证件号码"],
        "phone": ["您的手机号码是", "留个电话方便联系"],
        "cvv": ["安全码多少", "麻烦提供卡背面的三位数"],
        "code": ["验证码收到了吗", "请告诉我您收到的动态码"],
    },
}  # fmt: skip
ANSWER_PREFIX_SETS = {
    "dev-1": ["", "嗯，", "好的，", "是", "嗯，我看一下啊，"],
    "dev-2": ["", "嗯，", "好的，", "是", "嗯，我看一下啊，"],
    "dev-3": ["", "嗯嗯，", "好，", "哦，是", "稍等…找到了，"],
    "held-out": ["", "嗯，是", "哦，", "好的好的，", "就是"],
}
# Half the answers come after the answerer says something first.
HOLD_ON = {"dev": ["好的，您稍等", "我找一下啊", "嗯，等等"],
           "held-out": ["稍等一下", "哦，我看看卡", "嗯…"]}  # fmt: skip


def _merged(sets: dict, half: str) -> dict | list:
    """The dev half is the dev sets together."""
    if half != "dev":
        return sets[half]
    merged = sets[DEV_SETS[0]]
    for name in DEV_SETS[1:]:
        a, b = merged, sets[name]
        if isinstance(a, list):
            merged = a + b
        elif not all(isinstance(v, list | dict) for v in a.values()):
            merged = {**a, **b}  # styles: name -> function
        else:
            merged = {k: (a[k] + b[k] if isinstance(a[k], list) else {**a[k], **b[k]}) for k in a}
    return merged


STYLES = {h: _merged(STYLE_SETS, h) for h in HALVES}
TEMPLATES = {h: _merged(TEMPLATE_SETS, h) for h in HALVES}
QUESTIONS = {h: _merged(QUESTION_SETS, h) for h in HALVES}
ANSWER_PREFIX = {h: _merged(ANSWER_PREFIX_SETS, h) for h in HALVES}

# --- negatives -----------------------------------------------------------------------


def amount(rng: random.Random, half: str) -> str:
    v = rng.choice([rng.randint(1, 99) * 100, rng.randint(100, 99999), rng.randint(1, 50) * 1000])
    cn, j = _cn_amount(v), rng.randint(1, 9)
    forms = {
        "dev-1": [f"{v}元", f"{v}块", f"{cn}块", f"{cn}", f"{v:,}元", f"{cn}块钱",
                  f"{v / 10000:g}万" if v >= 10000 else f"{v}块", f"{v}.{rng.randint(10, 99)}元",
                  f"{v}"],
        "dev-2": [f"{v}块钱", f"{cn}元", f"人民币{v}元", f"¥{v}", f"{v:,}.00元", f"{cn}",
                  f"{v}", f"{cn}多块"],
        "dev-3": [f"{v}块{j}毛", f"{cn}整", f"{v}元整", f"{cn}块{_PLAIN[str(j)]}毛",
                     f"{v}块钱左右", f"{v / 10000:g}万块" if v >= 10000 else f"{cn}块",
                     f"{v}", f"{cn}"],
        "held-out": [f"{v}块", f"{cn}块钱", f"{v:,}元", f"{v}元左右", f"差不多{cn}", f"{cn}多",
                     f"{v}"],
    }  # fmt: skip
    return rng.choice(_merged(forms, half))


def _cn_amount(v: int) -> str:
    import cn2an

    s = cn2an.an2cn(v)
    return s.replace("二千", "两千").replace("二万", "两万")


def date(rng: random.Random, half: str) -> str:
    y, m, d = rng.randint(2020, 2027), rng.randint(1, 12), rng.randint(1, 28)
    import cn2an

    cm, cd = cn2an.an2cn(m), cn2an.an2cn(d)
    cy = "".join(_PLAIN[c] for c in str(y)).replace("零", rng.choice(["零", "〇"]))
    forms = {
        "dev-1": [f"{y}年{m}月{d}日", f"{m}月{d}号", f"{cm}月{cd}号", f"{y}-{m:02d}-{d:02d}",
                  f"下个月{d}号", f"每月{cd}号", f"{cy}年{cm}月{cd}日", f"{y}年{m}月"],
        "dev-2": [f"{y}/{m}/{d}", f"{y}.{m:02d}.{d:02d}", f"{cm}月{cd}日", f"{y}年{cm}月{cd}号",
                  f"这个月{d}号", f"{m}月{d}日", f"{y}{m:02d}{d:02d}", f"{y} 年 {m} 月 {d} 日"],
        "dev-3": [f"{y}年{m}月{d}号", f"{m}.{d}", f"{m}/{d}", f"{cm}月初", f"{cy}年",
                     f"{y}年{m}月{d}日上午", f"{cd}号", f"{y}-{m}-{d}"],
        "held-out": [f"{m}月{d}号", f"{cm}月{cd}日", f"{y}年", f"{y}-{m:02d}-{d:02d}",
                     f"{y}年{m}月{d}号晚上", f"{y}/{m:02d}/{d:02d}"],
    }  # fmt: skip
    return rng.choice(_merged(forms, half))


def installments(rng: random.Random, half: str) -> str:
    import cn2an

    n = rng.choice([3, 6, 9, 12, 18, 24, 36])
    forms = {"dev-1": [f"{n}期", f"{cn2an.an2cn(n)}期", f"分{n}期"],
             "dev-2": [f"{cn2an.an2cn(n)}个月分期", f"分成{n}期", f"{n}个月"],
             "dev-3": [f"{n}期", f"分{cn2an.an2cn(n)}期", f"{n}期免息"],
             "held-out": [f"{n}期", f"分{n}个月", f"{cn2an.an2cn(n)}期"]}  # fmt: skip
    return rng.choice(_merged(forms, half))


NEGATIVE_SETS = {
    "dev-1": {
        "amount": ["这个月扣了我{a}", "账单是{a}，我没消费过", "额度能不能提到{a}", "我还了{a}",
                   "那笔{a}的消费不是我刷的", "最低还款是{a}吧", "年费{a}也太贵了",
                   "现在还剩{a}", "他们要我交{a}", "差不多{a}吧"],
        "date": ["我{d}刷的卡", "还款日是{d}吧", "{d}那天扣的钱", "我{d}就还上了",
                 "账单日是{d}", "{d}之前能到账吗"],
        "installments": ["我想分{i}", "{i}的手续费是多少", "这笔帮我分{i}", "分{i}每期还{a}"],
    },
    "dev-2": {
        "amount": ["一共是{a}", "多扣了{a}，帮我退一下", "我卡里只有{a}", "上次取现{a}",
                   "{a}的手续费谁出", "利息算下来{a}"],
        "date": ["{d}我在国外，不可能刷卡", "是{d}到期的", "你们说{d}给我回电话",
                 "从{d}开始算利息", "{d}的那笔交易"],
        "installments": ["{i}，每个月{a}", "改成{i}行吗", "办了{i}的分期"],
    },
    "dev-3": {
        "amount": ["我欠了{a}", "还有{a}没还", "这期要还{a}", "我这个月花了{a}", "取了{a}现金",
                   "{a}是怎么来的", "退了{a}回来", "才{a}而已"],
        "date": ["{d}下午打的电话", "截止到{d}", "{d}到期", "我{d}出国了", "{d}收到的账单"],
        "installments": ["{i}利息多少", "我要分{i}还", "原来是{i}现在想改"],
    },
    "held-out": {
        "amount": ["一共消费了{a}", "还差{a}", "我转了{a}过去", "这笔{a}不对", "上个月账单才{a}",
                   "给我返了{a}", "你们收了我{a}"],
        "date": ["{d}刷的", "到{d}为止", "{d}还的款", "我是{d}办的卡", "{d}以后"],
        "installments": ["分了{i}", "我要办{i}", "{i}的话每期多少"],
    },
}  # fmt: skip
NEGATIVE_TEMPLATES = {h: _merged(NEGATIVE_SETS, h) for h in HALVES}


def _tail(rng):
    return "".join(rng.choice("0123456789") for _ in range(4))


OTHER_SETS = {
    "dev-1": {
        "tail": lambda r: [f"尾号{_tail(r)}的卡", f"卡号后四位是{spoken(_tail(r), r, yao=0.5)}",
                           f"手机尾号{_tail(r)}", f"身份证后四位{spoken(_tail(r), r)}"],
        "hotline": lambda r: ["你们客服电话95588一直占线", "我打了12378投诉", "拨打400-820-8820",
                              "九五五八八打不通"],
        "time": lambda r: [f"下午{r.randint(1, 11)}点半给我回电", f"{r.randint(8, 22)}:{r.randint(10, 59)}扣的款"],
        "percent": lambda r: [f"年化利率{r.randint(5, 24)}%", f"手续费率0.{r.randint(10, 99)}%"],
        "order": lambda r: [f"订单号{r.randint(2020, 2026)}{r.randint(10**11, 10**12 - 1)}"],
    },
    "dev-2": {
        "tail": lambda r: [f"尾数是{spoken(_tail(r), r, yao=0.8, dong=0.5)}", f"末四位{_tail(r)}",
                           f"我那张尾号{spoken(_tail(r), r)}的信用卡"],
        "hotline": lambda r: ["我打的10086", "4006695588是你们的电话吗", "热线95555", "打12315投诉你们"],
        "time": lambda r: [f"{r.randint(1, 12)}点{r.randint(10, 59)}分收到的短信", f"晚上{r.randint(7, 11)}点以后"],
        "percent": lambda r: [f"利率{r.randint(1, 9)}.{r.randint(1, 9)}%", f"百分之{r.randint(2, 9)}"],
        "order": lambda r: [f"快递单号SF{r.randint(10**11, 10**12 - 1)}", f"流水号{r.randint(10**9, 10**10 - 1)}"],
    },
    "dev-3": {
        "tail": lambda r: [f"卡尾号是{_tail(r)}", f"后4位{_tail(r)}", f"尾号为{spoken(_tail(r), r, yao=0.6)}",
                           f"身份证最后四位{_tail(r)}"],
        "hotline": lambda r: ["95533能打通吗", "九五五九九", "我打过12363", "400 600 8888", "4008123123"],
        "time": lambda r: [f"{r.randint(0, 23)}:{r.randint(0, 59):02d}", f"{r.randint(1, 12)}点{r.randint(1, 59)}分",
                           f"{r.randint(1, 12)}点左右"],
        "percent": lambda r: [f"{r.randint(1, 30)}%", f"百分之{r.randint(1, 30)}点{r.randint(1, 9)}"],
        "order": lambda r: [f"订单编号{r.randint(2020, 2026)}{r.randint(1, 12):02d}{r.randint(10**5, 10**6 - 1)}",
                            f"工号{r.randint(10**4, 10**5 - 1)}", f"交易流水号{r.randint(10**11, 10**12 - 1)}"],
    },
    "held-out": {
        "tail": lambda r: [f"尾号是{_tail(r)}的那张", f"卡号最后四位{_tail(r)}",
                           f"手机后四位{spoken(_tail(r), r, yao=0.7)}", f"尾数{_tail(r)}"],
        "hotline": lambda r: ["我打你们95559", "一二三一五", "400-888-8888", "10010说不是他们"],
        "time": lambda r: [f"{r.randint(1, 12)}点{r.randint(1, 59)}分左右",
                           f"{r.randint(0, 23)}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"],
        "percent": lambda r: [f"{r.randint(1, 30)}.{r.randint(0, 99)}%"],
        "order": lambda r: [f"订单号2{r.randint(10**16, 10**17 - 1)}", f"退款单号{r.randint(10**9, 10**10 - 1)}",
                            f"工号{r.randint(10**5, 10**6 - 1)}"],
    },
}  # fmt: skip


def other_negative(kind: str, half: str, rng: random.Random) -> str:
    sets = DEV_SETS if half == "dev" else (half,)
    return rng.choice(OTHER_SETS[rng.choice(sets)][kind](rng))


# --- the corpus ----------------------------------------------------------------------


def _pieces(said: list[str], sep: str, n: int, rng: random.Random) -> list[str]:
    """The number as said, cut into n pieces between groups or right after a digit (a pause
    falls between digits, not inside 那个)."""
    text = sep.join(said)
    if len(said) >= n:
        bounds, at = [], 0
        for g in said[:-1]:
            at += len(g)
            bounds.append(at)
            at += len(sep)
    else:
        bounds = [
            i
            for i in range(1, len(text))
            if text[i - 1] in _DIGIT_CHARS and text[i] != "个"  # not inside 三个五
        ]
    cuts = sorted(rng.sample(bounds, min(n - 1, len(bounds))))
    pieces, last = [], 0
    for cut in cuts:
        pieces.append(text[last:cut])
        last = cut
    pieces.append(text[last:])
    return [p.strip(sep).strip() or p for p in pieces]


def _positive(kind: str, half: str, rng: random.Random) -> Sample:
    number = NUMBERS[kind](rng)
    style_name, style = rng.choice(sorted(STYLES[half].items()))
    said, sep = style(number, kind, rng)
    number = _digits_of("".join(said))  # a repeat style may have changed some digits
    how = rng.random()
    if how < 0.12:  # the other party asks; this one answers with the bare number
        role = rng.choice(["customer", "customer", "agent"])
        other = "agent" if role == "customer" else "customer"
        question = rng.choice(QUESTIONS[half][kind])
        answer = rng.choice(ANSWER_PREFIX[half]) + sep.join(said)
        segments = [(other, question), (role, answer)]
        if rng.random() < 0.5:
            segments.insert(1, (role, rng.choice(HOLD_ON[half])))
        return Sample(kind, segments, number, style_name, "question")
    role, template = rng.choice(TEMPLATES[half][kind])
    prefix, suffix = template.split("{n}")
    if how < 0.37 and len(_digits_of("".join(said))) > 3:  # split across pauses
        n = 3 if kind in ("card", "id", "phone") and rng.random() < 0.4 else 2
        pieces = _pieces(said, sep, n, rng)
        pieces[0], pieces[-1] = prefix + pieces[0], pieces[-1] + suffix
        name = style_name + f", split in {len(pieces)}"
        return Sample(kind, [(role, p) for p in pieces], number, name, template)
    return Sample(kind, [(role, prefix + sep.join(said) + suffix)], number, style_name, template)


def _negative(kind: str, half: str, rng: random.Random) -> Sample:
    template = rng.choice(NEGATIVE_TEMPLATES[half][kind])
    text = template.format(a=amount(rng, half), d=date(rng, half), i=installments(rng, half))
    return Sample(kind, [("customer", text)], template=template)


def generate(half: str, per_kind: int = 500, negatives: int = 1000, others: int = 100,
             seed: int = 12) -> list[Sample]:  # fmt: skip
    """The corpus of one half: `per_kind` positives of each kind, `negatives` amount / date /
    installment sentences and `others` of each other negative category."""
    rng = random.Random(f"{seed}:{half}")
    corpus = [_positive(kind, half, rng) for kind in KINDS for _ in range(per_kind)]
    corpus += [_negative(AMOUNT_DATE[i % 3], half, rng) for i in range(negatives)]
    for kind in OTHER_NEGATIVES:
        corpus += [
            Sample(kind, [("customer", other_negative(kind, half, rng))]) for _ in range(others)
        ]
    return corpus
