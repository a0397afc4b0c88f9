"""Word lists for believable Chinese people and customer names in the demo company.

Kept apart from the generator so the numbers and the vocabulary can be read (and reviewed by a
native speaker) separately. Surname weights follow the rough frequency of the commonest Chinese
surnames, so a sales team looks like a real one (several 王 and 李, rarely a 欧阳).
"""

from __future__ import annotations

SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 7.0), ("张", 6.7), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.1),
    ("赵", 2.0), ("吴", 1.9), ("周", 1.9), ("徐", 1.3), ("孙", 1.2), ("马", 1.1), ("朱", 1.1),
    ("胡", 1.0), ("郭", 1.0), ("何", 0.9), ("高", 0.9), ("林", 0.9), ("罗", 0.9), ("郑", 0.8),
    ("梁", 0.8), ("谢", 0.7), ("宋", 0.6), ("唐", 0.6), ("许", 0.6), ("韩", 0.5), ("冯", 0.5),
    ("邓", 0.5), ("曹", 0.5), ("彭", 0.5), ("曾", 0.5), ("肖", 0.5), ("田", 0.5), ("董", 0.5),
    ("袁", 0.4), ("潘", 0.4), ("于", 0.4), ("蒋", 0.4), ("蔡", 0.4), ("余", 0.4), ("杜", 0.4),
    ("叶", 0.4), ("程", 0.4), ("苏", 0.4), ("魏", 0.3), ("吕", 0.3), ("丁", 0.3), ("任", 0.3),
    ("沈", 0.3), ("姚", 0.3), ("卢", 0.3), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("汪", 0.3), ("范", 0.3), ("金", 0.3), ("石", 0.3), ("廖", 0.3), ("贾", 0.2),
    ("夏", 0.2), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2), ("熊", 0.2),
    ("秦", 0.2), ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("段", 0.2), ("雷", 0.2),
    ("侯", 0.2), ("龙", 0.2), ("史", 0.2), ("陶", 0.2), ("黎", 0.2), ("贺", 0.2), ("顾", 0.2),
    ("毛", 0.2), ("郝", 0.2), ("龚", 0.2), ("邵", 0.2), ("万", 0.2), ("钱", 0.2), ("严", 0.2),
    ("欧阳", 0.05), ("司马", 0.02),
)  # fmt: skip

GIVEN_NAME_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红鹏辉健俊帆宇浩婷雪琳晨欣怡佳"
    "子梓涵思雨嘉博文轩诺睿泽晓志建国海林峰斌颖慧琪倩蕾阳凯昊然悦晴瑶鑫彤昕一若依可"
)

# Two characters of a trade name (字号) are drawn from these, e.g. 恒信, 博远, 鼎盛.
TRADE_NAME_CHARS = (
    "华信达安泰恒通瑞丰鼎盛宏远博新创嘉汇和永昌隆元海天锦鑫正中卓越联东方星辰明科聚成启航德润宇腾飞凯晟"
)

INDUSTRIES = (
    "科技", "电子", "信息技术", "智能制造", "精密机械", "新能源", "物流", "医疗器械", "生物科技",
    "贸易", "建设工程", "环保科技", "食品", "服饰", "汽车零部件", "电气", "新材料", "网络科技",
    "数据科技", "光电", "化工", "包装", "家居", "仪器仪表", "自动化", "供应链管理",
)  # fmt: skip

# Legal-form suffix by customer segment: key accounts are groups and listed companies,
# consumer-segment buyers are shops and small trading firms.
SUFFIXES = {
    "key": ("股份有限公司", "集团有限公司", "股份有限公司"),
    "smb": ("有限公司",),
    "consumer": ("商行", "经营部", "工作室"),
    "public": ("集团有限公司",),
}

# Public-sector customers are named after their city: 杭州市第一人民医院, 成都市大数据中心 …
INSTITUTIONS = (
    "第一人民医院", "第二人民医院", "中心医院", "中医院", "妇幼保健院", "教育局", "大数据中心",
    "职业技术学院", "第一中学", "实验中学", "疾病预防控制中心", "税务局", "住房和城乡建设局",
    "图书馆", "自来水公司", "公共交通集团", "城市建设投资集团", "人民检察院",
)  # fmt: skip

# Cities per province (ISO 3166-2:CN suffix) where customers are registered; the first is the capital.
CITIES = {
    "SH": ("上海",),
    "JS": ("南京", "苏州", "无锡", "常州", "南通"),
    "ZJ": ("杭州", "宁波", "温州", "绍兴", "嘉兴"),
    "GD": ("广州", "深圳", "东莞", "佛山", "珠海"),
    "FJ": ("福州", "厦门", "泉州"),
    "BJ": ("北京",),
    "TJ": ("天津",),
    "HE": ("石家庄", "保定", "唐山", "廊坊"),
    "SC": ("成都", "绵阳", "德阳"),
    "SN": ("西安", "宝鸡", "咸阳"),
    "CQ": ("重庆",),
}

DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 written the way team names use them: 一, 十, 十二, 二十, 三十五."""
    if not 1 <= n <= 99:
        raise ValueError(f"team numbers go from 1 to 99, got {n}")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return DIGITS[ones]
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")
