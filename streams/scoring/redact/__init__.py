"""Personal data masked in call text before it leaves the scoring stage.

`Redactor.mask(text, role, state)` masks one final segment and returns a `Masked`: the
masked text, the spans it replaced (raw → masked, with their kind) and `apply()`, which
masks any string made from the raw text (rule evidence, alert messages, fact spans).
`state` is the call's small JSON-able dict (a faust table value): it joins a number said in
pieces across pauses of one speaker, and lets an answer use the other party's question
("请问验证码是多少？" → "幺二三四五六"). `mask_text(text)` does one text with no call state.

What is masked and how it is shown. One character per digit said, kept digits as arabic
digits, the others as `*`; the whole said span (spoken digits, the spaces, commas and
fillers between groups, 三个六) is replaced, so a screen shows positions, not words:

=========  ===========================================  ===================  =====================
kind       said as (examples)                           shown as             kept
=========  ===========================================  ===================  =====================
card       卡号 6222 0212 3456 7890 123, 六二二五…      622202*********0123  first 6 and last 4
id         身份证 一一零一零五 一九九零…一二三叉         **************123X   last 4
phone      手机 幺三八 幺二三四 五六七八, 13812345678   *******5678          last 4
cvv        安全码四五六, 卡背面三位 三个六               ***                  nothing
code       验证码 幺二三四五六, 密码 123456, 动态码…     ******               nothing
number     any other 7+ digits read as digits, no cue   ****5678             last 4
=========  ===========================================  ===================  =====================

Not masked: amounts (三千五百块, 12000元, 1,234元, 两万), dates (三月十五号, 2026-11-15,
20261115), installment counts (十二期), times (10:30), percentages, card / ID / phone tails
of at most 4 digits (尾号1234, 身份证后四位零九五二: only the last 4 anyway; after a code cue too,
验证码发到您尾号4371的手机: a code has no tail), a number's first 4 digits or fewer named as
such (一个138开头的手机号), company numbers
(95588, 12378, 10086, 400-820-8820, 800…), order / tracking / staff numbers after their cue
(订单号, 单号, 流水号, 工号 …) unless they have the shape of a card that passes Luhn, of a
mobile or of an ID.

Reading digits. A digit is 0-9 (full-width too), 零〇○一二三四五六七八九, 幺 (1), 两 (2),
and, inside a group of other digits, 洞 (0), 拐 (7), 勾 (9); X/x/叉 ends an ID. 三个六 is 666
(两个八, 四个零 …). Digits next to a numeral or unit are a quantity, not digits said one by
one: 三千五, 十二期, 2026年, 15号, 3.5, 10:30, 三个月, 后四位. Groups of digits separated by
spaces, commas, 顿号, dashes, 。, … or fillers (嗯, 呃, 那个, 就是, 然后, 对) are one number.
Words made with 一 (一下, 一直, 统一, 星期一) are not digits. 万 between arabic digits with five or
more after it is whisper's 二 (卡号是六二五八… → 6万58301477201136): no amount is written so.

Deciding the kind. The nearest cue before the number (within 24 characters, not before an
earlier number) says what it is, if the number fits: 卡号/账号/卡面/信用卡 → card; 身份证/证件 →
id; 手机/电话/号码/打(+digits) → phone; 安全码/CVV/背面/签名栏 → cvv (≤ 4 digits); 验证码/动态
码/密码/PIN → code (≤ 8 digits; arabic digits within 8 characters of the cue); the weaker 短信/
收到/…码 → code only right after them (短信里的码是, 短信发来的是) or for digits read one by one;
六位数字/三位数 → code; 尾号/后N位 marks a tail of the kind before it (its last 4 kept);
订单号/工号/客服 … → not personal; 扣了/消费/额度/账单/还(+digits) … → money. With no cue
before, a cue right after counts when introduced by 是/这个/我的 ("…，这是我的卡号"), or with
only a pause before it for card/id/phone ("…，身份证"); then a question of the other party or
an open cue (see below). Without any cue the shape decides: 15-19 digits → card (15: an
American Express card, or a card whisper lost a digit of; an old 15-digit ID with YYMMDD at
digits 7-12 → id), 18 with a
date of birth at digits 7-14 → id (even if Luhn passes: the ID shows less), 11 digits
1[3-9]… (or 86 + that) → phone, any other 7+ digits → number, and at a segment's end (maybe
the first piece of a longer number) 14-17 digits with an ID's region and birth date → id,
6-10 digits starting 1[3-9] → number, 5-6 digits read one by one or after 是 → number. Never
when it reads as an amount (a money cue before, 15000的额度, 1,234,567, 500-1000; at most 8
digits in a row: 扣了6258301477 is a number), a date
(2026 11 15, 2020-6-7-8, 20261115), a list (6 7 8 9 10 11 12) or is already masked (digits
next to *: 151********). A phone cue needs a phone's length (7+ digits, or the start of a
mobile / landline at a segment's end). Luhn is a hint (a card after an order-number cue), never
a requirement: ASR gets digits wrong.

Numbers in pieces. When a number ends its segment unfinished for its kind (a card under 19
digits, an ID under 18, a mobile under 11, a code under 6, a number with no cue), the
call's state keeps its kind and count of digits (never the digits: only the first two, for the
mobile / landline shape) for the speaker's next segment; if that segment opens with digits
(fillers allowed), they continue the number, and a number may turn out a card (16-19 in all),
an ID (its birth date in the piece, or an X) or a phone (11 from 1…). A few digits said alone
(嗯，幺 | 三九，啊，八四 | …) start such a number too. A piece is masked when it is said, before
the rest is known, so a piece shows only what the whole number may show at that position: a
card's first 6 digits, and the last 4 once 16 digits have come; an ID's or a phone's last 4
once it is complete. Across pieces at most 10 digits of a card and 4 of any other number are
ever shown: a piece that turns out to be a card's start without a cue shows its last 4 and the
card's last 4, never its first 6. A cue that ends a segment with no number after it (请问您的卡
号是多少？, 我的验证码是) is kept for the next three segments of either speaker, for the first
number said near the start of one of them. A code cue (验证码, 动态码, 密码 …, not the weaker
短信/收到) said by either speaker makes, for its segment and the next four, any 6-8 digits with
no cue of their own a code, wherever they come (您刚才报的是七三九二零六，我核对一下), unless they
read as an amount, a date, a list, a service number or a run like 一二三四五六 / 六个八.

Limits: cue words must come through ASR as written (卡号, 验证码) or as a few known mishearings
(分证, 授机); numbers read as quantities (六千二百二十五) are not digits; a number said by a
speaker in pieces with other words between them is two numbers; a CVV or code with no cue at
all (not even the other party's question or a code talked about) is not found; 5-6 digit
numbers with no cue in the middle of a sentence are left (6 digits unless a code was talked
about); a first piece that looks like a service number (12010 …, the start of a Tianjin ID) is
left, the rest masked; two 4-digit numbers with only a comma between (一张尾号4037，一张8353，
4037) are read as one.

The package: `cues` (characters, fillers, cue words, limits of each kind), `digits` (the
text's view, digit groups, repetitions, quantities, runs; runs that are dates, lists or
thousands), `shapes` (Luhn, the ID checksum and birth date, mobiles, company numbers, the kind
a shape says), `masked` (Span, Masked, apply) and `redactor` (Redactor, mask_text,
mask_segments).
"""

from .cues import DEFAULT_CUES, KINDS
from .masked import Masked, Span, apply
from .redactor import Redactor, mask_segments, mask_text

__all__ = ["KINDS", "DEFAULT_CUES", "Masked", "Redactor", "Span", "apply", "mask_segments",
           "mask_text"]  # fmt: skip
