"""Characters, fillers and cue words the masker reads, on the same-length lower-case view of
the text (`digits._view`), and the digits each kind of number may have and show."""

from __future__ import annotations

import re

# example: a weak code named as one not to choose (别用123456这种): masked like a code, but it
# is nobody's code, so no disclosure
KINDS = ("card", "id", "phone", "cvv", "code", "example", "number")

# --- characters ----------------------------------------------------------------------

_STRONG = dict(zip("零〇○一幺二两三四五六七八九", "00011223456789", strict=True))
_STRONG |= {str(d): str(d) for d in range(10)}
_WEAK = {"洞": "0", "拐": "7", "勾": "9"}  # digits only next to other digits
_DIGIT = _STRONG | _WEAK
_CHECK = frozenset("x叉×")  # the ID check digit X (the view is lower case)
_COUNT = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "2": 2, "3": 3, "4": 4, "5": 5}
# Same-length traditional -> simplified for the characters cues use (ASR gives simplified;
# exported or typed text may not).
_TRADITIONAL = str.maketrans("號碼證機驗電話帳賬態兩後個數戶張鐘億萬塊圓單訂費額餘還",
                             "号码证机验电话账账态两后个数户张钟亿万块圆单订费额余还")  # fmt: skip

# Digits that belong to a word, not to a number: 一下 一直 一起 …, 星期一 统一 第一 …
_YI_WORD_NEXT = frozenset("下直起般些定旦边切致贯向律旁份半辈生同样共道齐头再如心意")
_WORD_PREV = frozenset("期周拜第统唯之初星礼逐专")

_UNIT_AFTER = re.compile(
    r"\s?(?:[十百千万亿块元圆角毛钱期年月日天周岁次%倍点度折楼层张笔件台斤克米人遍页位时个多余]"
    r"|小时|分钟|分期|秒|美|港|欧|英镑|公里|左右|以上|以下|以内)"
)
# Points (or a score) after a number: 9500分, 9500积分; not 分别 / 分开 / 分期 (a unit of its own).
# 积分 as whisper writes it too, by sound (6万集分, 剩余…级分: the evaluation calls' transcripts)
_POINTS_AFTER = re.compile(r"\s?(?:[积级集记计基即极吉]分|分(?![别开批摊担享配数期]))")
# A weak code named as an example, around the digits: 别用123456这种, 像888888这样的, 比如一二三四五六
_EXAMPLE_BEFORE = re.compile(
    r"(?:比如|比方|例如|譬如|像是?|别用|不要用|别设|不要设|别设置|避免)\s?$"
)
_EXAMPLE_AFTER = re.compile(r"\s?(?:这种|这样|这类|之类|那种|那样|什么的|等等|这些)")
# 3.5, 10:30, 3/15 (not 卡号：6222, nor CVV2：906)
_NUMERAL_BEFORE = re.compile(r"(?:[十百千万亿点第¥$]|(?<![a-z0-9])[0-9]{1,4}[.:/])\s?$")
_NUMERAL_AFTER = re.compile(r"[.:/]\s?[0-9]")
_LATIN = re.compile(r"[a-z]")
# The most digits an amount has in a card call (99,999,999 yuan): a longer run of digits is a
# number whatever money word stands next to it (扣了6258301477, 6258301477元), never left as said.
AMOUNT_DIGITS_MAX = 8
_MONEY_AFTER = re.compile(
    r"\s?的?(?:额度|金额|消费|账单|扣款|利息|欠款|借款|贷款|款项|钱|费用|手续费|年费|交易)"
)
_GAP = re.compile(
    r"(?:[\s,、\-—–~·・。…]|嗯|呃|啊|额|哦|噢|唔|那个|这个|就是|然后|对|是|杠|横杠|再|接着)*"
)
# What follows 短信 when it says how the bank will tell the customer (结果会短信告诉您, 登记号码会用
# 短信发给您): no code comes next, so it opens no cue for the next segments (round 91's development
# half: the agent's 这笔两千六在调查期间… after 会用短信发给您 was masked as a code and flagged read out)
_TELLS_AFTER = re.compile(
    r"\s?(?:的?(?:方式|形式))?(?:再|会|就|都|也)?(?:给[您你]|跟[您你]|向[您你])?"
    r"(?:告诉|通知|告知|提醒|推送|发给|发送|发到|下发|联系|说一声|知会)"
)
# What follows a bare 身份 when it talks about checking one's identity (没验身份就把您的账报了出来,
# 核实身份之前, 核对身份以后就能办): no ID number comes next, so it opens no cue (round 92's held-out
# half: the 600 of 这六百按活动本该免, two segments after 刚才没验身份就把您的账报了出来, was masked as
# an ID and flagged as read out). Not 后: 身份后四位 is the tail.
_CHECKING_AFTER = re.compile(r"\s?(?:就|之前|以前|再|才|以后|之后|了以后)")
_AT_END = re.compile(r"[\s\W_]*(?:(?:嗯|啊|呃|哦|额|吧|呢|那个|就是|然后|对)[\s\W_]*)*")
# What may come before a number said as a value: nothing but fillers, or a copula (…是).
_DICTATED = re.compile(
    r"(?:^[\s\W_]*(?:(?:嗯|啊|呃|哦|额|那个|就是|然后|对|是)[\s\W_]*)*|(?:是|:)\s?)$"
)
_AT_START = re.compile(
    r"[\s\W_]*(?:(?:嗯|啊|呃|哦|额|那个|就是|然后|还有|接着|后面是|后面|是|对)[\s\W_]*)*"
)
_COPULA_THEN_CUE = re.compile(  # …，这是我的卡号 / 这个身份证 / ，我的手机
    r"[\s,、。]*(?:(?:这|那)?个?就?是(?:我|我们|你们|他|她)?的?|(?:这|那)(?:个|张)?"
    r"|(?:我|我们|你们|他|她)的?)"
)

# --- cues ----------------------------------------------------------------------------

# whisper writes the pause between a card's groups as 和 / 及 now and then (卡号1622845和8817及
# 4926, 卡号是6万59,0713和44862550): after a card's cue, one between digits and a group of 3+
# digits is a pause. The masking and the disclosure rule both read it so.
CARD_GROUP_AND = re.compile(r"(?<=[0-9*])\s?[和及]\s?(?=[0-9*]{3})")

_D = "[0-9零〇一幺二两三四五六七八九]"  # a digit said next
# The words that say a card's security code comes next. The masking's `cvv` cue is built from
# them, and the agent-sensitive-disclosure rule takes them (with 校验码) as its CVV cues.
CVV_WORDS = ("安全码", "cvv", "cvn", "cvc", "背面", "背后", "卡背", "签名栏", "签名条", "签名处")
_CVV_LATIN = [w for w in CVV_WORDS if w.isascii()]
_CVV = "|".join(
    [re.escape(w) for w in CVV_WORDS if not w.isascii()]
    + [rf"(?<![a-z])(?:{'|'.join(_CVV_LATIN)})2?(?![a-z])"]
)
DEFAULT_CUES: dict[str, str] = {
    "card": r"(?:卡|账|帐)(?:户|片|面)?(?:上面?|里面?)?的?(?:号码|号|数字|全号)|卡(?:是|为|[\s,:])"
            r"|卡面|(?:银行|信用|借记|储蓄|贷记)卡|(?<![a-z])card(?![a-z])\s?(?:no|number)?",
    # 分证: ASR's 学分证 for 身份证. 身份 saying it checked out (身份对上了, 身份核实通过) asks for
    # no number: the digits after it are account details (round 34's ev-805: 六期、十二期 heard as
    # 6-7-12-7 right after 罗先生身份对上了 were masked as an ID and flagged as read out); whisper
    # writes 核实 / 核对 as 合时, 合对, 何对, 合适 (the development calls' transcripts, rounds 41-43, 61)
    "id": r"(?:身份证|证件|身份(?!(?:已经|已|都|也)?(?:对上|核实|核对|验证|确认|没问题|无误|通过|校验"
          r"|合时|合实|核时|合对|何对|和对|合适)))"
          r"(?:上面?的?|的)?(?:号码|号)?|分证|身份信息|证号",
    "phone": r"手机|电话|号码|联系方式|座机|授机|微信|手提|回拨|回电|打给我|打我|联系我"
             rf"|(?:这|那)个号|新号|老号|(?:打|拨|拨打|致电|呼叫)(?=\s?{_D})",
    "cvv": _CVV,
    "code": r"验证码|动态码|动态密码|短信码|确认码|授权码|校验码|验证号|密码|口令|随机码|认证码"
            r"|提取码|(?<![a-z])pin(?![a-z])码?",
    # Weaker: a code only right after them (…码是, 短信，) or read digit by digit (收到幺七二).
    "weak_code": r"短信|收到(?:的|了)?|[^\W\d号条维编扫]码",
    # "六位数字是", "三位数" announce a code of that many digits (not 后四位: a tail).
    "announce": r"(?<![后末前尾])[三四五六七八3-8]\s?位的?(?:数字|数|码|密码)",
    # 工号 as whisper writes it too (公号, 功耗: 工号四零八六为您服务 -> 功耗4-0-8-6-6-5-5, round 67)
    "nonpii": r"(?:订单|单号|流水|交易号|[工公功攻]号|[工公功]耗|快递|运单|合同|工单|编号|批次|参考号|案件|受理号"
              r"|会员号|客服|热线|官方|邮编|分机|车牌|房间|座位|航班|车次|型号|版本)"
              r"(?:编号|号码|号)?",
    "money": r"扣了?|扣款|扣费|消费|还了|还款|额度|金额|欠了?|刷了|付了|转了|花了|一共|总共|共计"
             r"|余额|账单|利息|费|取现|退款|价格|多少钱|工资|收入|到账|存了|取了|借了|款项|放款"
             rf"|借款|贷款|本金|收益|付款|支付|转账|汇款|充值|人民币|(?<![a-z])rmb|[¥￥]"
             rf"|(?:还|花|付|欠|扣)(?=\s?{_D})",
    # and by sound (委号是3926): TAIL_AFTER_SOUND below
    "tail": r"尾号|尾数|末尾|(?:最)?后\s?[0-9一二两三四五六七八九十]{1,2}\s?位"
            r"|末\s?[0-9一二两三四五六七八九]\s?位",
}  # fmt: skip
# A tail's cue as whisper writes it (models/sounds.py's TAIL_SOUNDS: 委号是3926, 为号是1789, 他为后6039,
# the development calls' transcripts) is one only right before the digits: what may follow it.
TAIL_AFTER_SOUND = re.compile(rf"(?:是|为)?(?=\s?{_D})")
_PRIORITY = ("tail", "money", "nonpii", "announce", "weak_code", "code", "cvv", "phone", "id",
             "card")  # fmt: skip
_KIND_CUES = ("card", "id", "phone", "cvv", "code", "weak_code", "announce", "nonpii", "money")
# 短信里的码是 / 刚收到短信，/ 短信发来的是 — not 短信说乐康2018已投保成功
_NEAR_WEAK_CUE = re.compile(r"[\s,:、。是为的了里个就这那]{0,6}|\D{0,8}是\s?")
# 密码是123456, 验证码发过来了，是123456 — not 支付密码，直接帮我们开启这个199的业务
_NEAR_CODE_CUE = re.compile(r".{0,8}", re.S)
_OPEN_CUES = ("card", "id", "phone", "cvv", "code", "weak_code", "announce")
_CUE_WINDOW = 24
_OPEN_SEGMENTS = 3  # segments an open cue waits for its number
_CODE_TALK_SEGMENTS = 4  # segments after a code cue in which a code-shaped number is that code

# Digits a number of each kind may have in all (pieces continue up to this), and the most
# digits of it ever shown.
_MAX_DIGITS = {"card": 19, "id": 18, "phone": 13, "cvv": 4, "code": 8, "example": 8, "number": 19}
_SHOWN = {"card": 10, "id": 4, "phone": 4, "number": 4, "cvv": 0, "code": 0, "example": 0}
