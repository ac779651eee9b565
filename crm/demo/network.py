"""The demo's network: its organisations, how they are related, and the people in them.

The set mirrors the programme's world: electronics and textile enterprises along supply
chains in Guangdong, Jiangsu, Zhejiang, Fujian and Shanghai; the ministries and provincial
bureaus they answer to; industry bodies, trade unions, research institutes, international
organisations and NGOs; and the people the team deals with in each, some of whom have
changed jobs. Government bodies, associations, unions, universities and international
organisations carry their real names; every enterprise and NGO, every person, e-mail
address and phone number is invented (e-mails use example.cn and example.com).

`load` writes it through the stakeholder services as the demo administrator (one commit
per record, so each has its audit history and search document).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from crm.access import Role
from crm.models import Organisation, Person, RelationshipType, User
from crm.services import stakeholders

# ---------------------------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Org:
    key: str
    name: str
    chinese: str
    type: str
    sector: str
    province: str | None
    city: str | None
    owner: Role
    level: str
    influence: int
    interest: int
    # E-mail domain of its people (invented; never stored on the organisation).
    domain: str
    ownership: str = "not_applicable"
    size: str | None = None
    role: str = "not_applicable"
    tags: tuple[str, ...] = ()
    parent: str | None = None
    website: str | None = None
    address: str | None = None
    notes: str | None = None


# fmt: off
ORGANISATIONS: tuple[_Org, ...] = (
    # --- Government -------------------------------------------------------------------------
    _Org("mohrss", "Ministry of Human Resources and Social Security", "人力资源和社会保障部",
         type="government", sector="cross_sector", province="Beijing", city="Beijing",
         owner=Role.manager, level="committed", influence=5, interest=4, domain="mohrss.example.cn",
         tags=("MoU partner", "tripartite constituent"), website="https://www.mohrss.gov.cn",
         notes=("Counterpart for labour inspection and wage consultation. The MoU on cooperation "
                "in responsible business conduct is handled by the Department of International "
                "Cooperation; the Department of Labour Relations leads on content.")),
    _Org("mofcom", "Ministry of Commerce", "商务部", type="government", sector="cross_sector",
         province="Beijing", city="Beijing", owner=Role.manager, level="engaged", influence=5,
         interest=3, domain="mofcom.example.cn", tags=("due diligence", "policy dialogue"),
         website="https://www.mofcom.gov.cn",
         notes=("Interested in supply-chain due diligence guidance for exporters facing EU "
                "rules. Department of Foreign Trade attended the 2025 forum.")),
    _Org("miit", "Ministry of Industry and Information Technology", "工业和信息化部",
         type="government", sector="electronics", province="Beijing", city="Beijing",
         owner=Role.manager, level="aware", influence=5, interest=2, domain="miit.example.cn",
         tags=("policy dialogue",), website="https://www.miit.gov.cn",
         notes="Electronic Information Department: one courtesy call so far, no follow-up yet."),
    _Org("gd_hrss", "Guangdong Provincial Department of Human Resources and Social Security",
         "广东省人力资源和社会保障厅", type="government", sector="cross_sector",
         province="Guangdong", city="Guangzhou", owner=Role.coordinator, level="committed",
         influence=4, interest=5, domain="gd-hrss.example.cn",
         tags=("training 2026", "labour inspection"), website="https://hrss.gd.gov.cn",
         notes="Co-hosts the Pearl River Delta labour-inspector trainings (2025 and 2026)."),
    _Org("sz_hrss", "Shenzhen Municipal Human Resources and Social Security Bureau",
         "深圳市人力资源和社会保障局", type="government", sector="cross_sector",
         province="Guangdong", city="Shenzhen", owner=Role.coordinator, level="engaged",
         influence=4, interest=4, domain="sz-hrss.example.cn",
         tags=("training 2026", "labour inspection"),
         notes="劳动监察支队愿意推荐辖区内电子企业参加职业安全健康培训。"),
    _Org("js_commerce", "Jiangsu Provincial Department of Commerce", "江苏省商务厅",
         type="government", sector="cross_sector", province="Jiangsu", city="Nanjing",
         owner=Role.member, level="aware", influence=4, interest=3, domain="js-commerce.example.cn",
         tags=("due diligence",)),
    # --- Industry bodies --------------------------------------------------------------------
    _Org("cntac", "China National Textile and Apparel Council", "中国纺织工业联合会",
         type="industry_body", sector="textile", province="Beijing", city="Beijing",
         owner=Role.coordinator, level="champion", influence=4, interest=5,
         domain="cntac.example.cn", tags=("MoU partner", "CSC9000T", "co-organiser"),
         website="https://www.cntac.org.cn",
         notes=("Its Office for Social Responsibility runs the CSC9000T management system and "
                "co-organises the textile trainings.")),
    _Org("ceea", "China Electronics Enterprises Association", "中国电子企业协会",
         type="industry_body", sector="electronics", province="Beijing", city="Beijing",
         owner=Role.coordinator, level="engaged", influence=3, interest=4, domain="ceea.example.cn",
         tags=("forum 2026",)),
    _Org("ccct", "China Chamber of Commerce for Import and Export of Textiles",
         "中国纺织品进出口商会", type="industry_body", sector="textile", province="Beijing",
         city="Beijing", owner=Role.member, level="engaged", influence=3, interest=4,
         domain="ccct.example.cn", tags=("due diligence",)),
    _Org("cec", "China Enterprise Confederation", "中国企业联合会", type="industry_body",
         sector="cross_sector", province="Beijing", city="Beijing", owner=Role.manager,
         level="committed", influence=4, interest=4, domain="cec.example.cn",
         tags=("tripartite constituent",),
         notes="Employers' organisation in the ILO's tripartite structure in China."),
    _Org("euccc", "European Union Chamber of Commerce in China", "中国欧盟商会",
         type="industry_body", sector="cross_sector", province="Beijing", city="Beijing",
         owner=Role.manager, level="engaged", influence=3, interest=4, domain="euccc.example.com",
         tags=("brand engagement",)),
    # --- Trade unions -----------------------------------------------------------------------
    _Org("acftu", "All-China Federation of Trade Unions", "中华全国总工会", type="trade_union",
         sector="cross_sector", province="Beijing", city="Beijing", owner=Role.manager,
         level="committed", influence=5, interest=4, domain="acftu.example.cn",
         tags=("tripartite constituent", "MoU partner"), website="https://www.acftu.org"),
    _Org("gdftu", "Guangdong Provincial Federation of Trade Unions", "广东省总工会",
         type="trade_union", sector="cross_sector", province="Guangdong", city="Guangzhou",
         owner=Role.coordinator, level="engaged", influence=4, interest=4,
         domain="gdftu.example.cn", tags=("training 2026", "工会")),
    _Org("fclt_union", "China Financial, Trade, Light Industry, Textile and Tobacco Workers' Union",
         "中国财贸轻纺烟草工会", type="trade_union", sector="textile", province="Beijing",
         city="Beijing", owner=Role.coordinator, level="aware", influence=3, interest=3,
         domain="fclt-union.example.cn", tags=("工会",)),
    # --- Research ---------------------------------------------------------------------------
    _Org("culr", "China University of Labor Relations", "中国劳动关系学院", type="academic",
         sector="cross_sector", province="Beijing", city="Beijing", owner=Role.coordinator,
         level="engaged", influence=3, interest=5, domain="culr.example.cn",
         tags=("research partner",)),
    _Org("caitec", "Chinese Academy of International Trade and Economic Cooperation",
         "商务部国际贸易经济合作研究院", type="academic", sector="cross_sector", province="Beijing",
         city="Beijing", owner=Role.manager, level="committed", influence=3, interest=5,
         domain="caitec.example.cn", tags=("research partner", "due diligence"),
         notes="Co-author of the 2026 study on due diligence in electronics supply chains."),
    _Org("sysu", "Sun Yat-sen University, School of Sociology and Anthropology",
         "中山大学社会学与人类学学院", type="academic", sector="cross_sector", province="Guangdong",
         city="Guangzhou", owner=Role.member, level="engaged", influence=2, interest=4,
         domain="sysu.example.cn", tags=("research partner",)),
    # --- International organisations --------------------------------------------------------
    _Org("ilo", "ILO Country Office for China and Mongolia", "国际劳工组织中国和蒙古局",
         type="international", sector="both", province="Beijing", city="Beijing", owner=Role.admin,
         level="champion", influence=4, interest=5, domain="ilo.example.com",
         tags=("implementing partner",), website="https://www.ilo.org/beijing"),
    _Org("eu_delegation", "Delegation of the European Union to China", "欧盟驻华代表团",
         type="international", sector="both", province="Beijing", city="Beijing",
         owner=Role.manager, level="champion", influence=5, interest=5, domain="eeas.example.com",
         tags=("donor",), notes="Funds the programme; annual report due in March."),
    _Org("oecd", "OECD Centre for Responsible Business Conduct", "经合组织负责任商业行为中心",
         type="international", sector="both", province=None, city="Paris", owner=Role.manager,
         level="champion", influence=4, interest=5, domain="oecd.example.com",
         tags=("implementing partner", "due diligence")),
    # --- NGOs (invented) --------------------------------------------------------------------
    _Org("hexie", "Shenzhen Hexie Social Work Service Centre", "深圳市和谐社会工作服务中心",
         type="ngo", sector="electronics", province="Guangdong", city="Shenzhen", owner=Role.member,
         level="engaged", influence=2, interest=5, domain="hexie-sw.example.cn", size="small",
         tags=("grievance mechanisms",),
         notes="Runs the worker hotline that the Hongxin pilot refers workers to."),
    _Org("green_loom", "Green Loom Sustainable Textile Network", "绿织可持续纺织网络", type="ngo",
         sector="textile", province="Shanghai", city="Shanghai", owner=Role.coordinator,
         level="aware", influence=2, interest=4, domain="greenloom.example.com", size="micro",
         tags=("environment",)),
    # --- Electronics enterprises (invented) -------------------------------------------------
    _Org("prsd", "Pearl River Smart Devices Group Co., Ltd.", "珠江智能设备集团有限公司",
         type="enterprise", sector="electronics", province="Guangdong", city="Shenzhen",
         owner=Role.coordinator, level="committed", influence=4, interest=4,
         domain="prsd.example.cn", ownership="private", size="large", role="brand_buyer",
         tags=("RBC pilot", "MoU partner", "试点企业"), website="https://prsd.example.cn",
         address="Nanshan District, Shenzhen",
         notes=("Domestic brand of phones and wearables. Pays for its top 30 suppliers to join "
                "the OSH training; wants a supplier code aligned with the OECD guidance.")),
    _Org("prsd_precision", "Shenzhen Pearl River Precision Components Co., Ltd.",
         "深圳珠江精密元件有限公司", type="enterprise", sector="electronics", province="Guangdong",
         city="Shenzhen", owner=Role.coordinator, level="engaged", influence=3, interest=4,
         domain="prsd.example.cn", ownership="private", size="large", role="tier1_supplier",
         tags=("RBC pilot",), parent="prsd", address="Bao'an District, Shenzhen"),
    _Org("hongxin", "Dongguan Hongxin Electronics Co., Ltd.", "东莞宏信电子有限公司",
         type="enterprise", sector="electronics", province="Guangdong", city="Dongguan",
         owner=Role.member, level="champion", influence=2, interest=5,
         domain="hongxin-elec.example.cn", ownership="private", size="medium",
         role="tier1_supplier", tags=("RBC pilot", "training 2026", "试点企业"),
         address="Chang'an Town, Dongguan",
         notes="2025年首批试点企业；已建立工人申诉热线，每季度召开劳资恳谈会。"),
    _Org("hongxin_union", "Trade Union Committee of Dongguan Hongxin Electronics",
         "东莞宏信电子有限公司工会委员会", type="trade_union", sector="electronics",
         province="Guangdong", city="Dongguan", owner=Role.member, level="engaged", influence=2,
         interest=5, domain="hongxin-elec.example.cn", tags=("RBC pilot", "工会")),
    _Org("jinhe", "Dongguan Jinhe Circuit Board Co., Ltd.", "东莞金禾线路板有限公司",
         type="enterprise", sector="electronics", province="Guangdong", city="Dongguan",
         owner=Role.member, level="aware", influence=2, interest=3, domain="jinhe-pcb.example.cn",
         ownership="private", size="medium", role="tier2_supplier", tags=("training 2026",)),
    _Org("lakeview", "Suzhou Lakeview Optoelectronics Co., Ltd.", "苏州湖景光电有限公司",
         type="enterprise", sector="electronics", province="Jiangsu", city="Suzhou",
         owner=Role.coordinator, level="engaged", influence=3, interest=3,
         domain="lakeview-opto.example.com", ownership="foreign_invested", size="large",
         role="tier1_supplier", tags=("RBC pilot",), address="Suzhou Industrial Park",
         notes="Taiwanese-invested display-module maker; audits by two European buyers a year."),
    _Org("taihu_semi", "Wuxi Taihu Semiconductor Packaging Co., Ltd.", "无锡太湖半导体封装有限公司",
         type="enterprise", sector="electronics", province="Jiangsu", city="Wuxi",
         owner=Role.member, level="aware", influence=3, interest=2, domain="taihu-semi.example.cn",
         ownership="joint_venture", size="large", role="tier1_supplier"),
    _Org("nanyue", "Nanyue Electronic Information Group Co., Ltd.", "南粤电子信息集团有限公司",
         type="enterprise", sector="electronics", province="Guangdong", city="Guangzhou",
         owner=Role.manager, level="engaged", influence=4, interest=3,
         domain="nanyue-group.example.cn", ownership="state_owned", size="large",
         role="brand_buyer", tags=("MoU partner",),
         notes=("Provincial state-owned group; its social responsibility office reports to the "
                "board.")),
    _Org("nanyue_display", "Nanyue Display Technology Co., Ltd.", "南粤显示科技有限公司",
         type="enterprise", sector="electronics", province="Guangdong", city="Guangzhou",
         owner=Role.coordinator, level="aware", influence=3, interest=2,
         domain="nanyue-group.example.cn", ownership="state_owned", size="large",
         role="tier1_supplier", parent="nanyue"),
    _Org("haicang", "Xiamen Haicang Battery Technology Co., Ltd.", "厦门海沧电池科技有限公司",
         type="enterprise", sector="electronics", province="Fujian", city="Xiamen",
         owner=Role.member, level="aware", influence=2, interest=3,
         domain="haicang-battery.example.cn", ownership="private", size="medium",
         role="tier2_supplier", tags=("OSH",),
         notes="Chemical handling in cell assembly; asked for an OSH self-assessment tool."),
    _Org("nordlicht", "Nordlicht Consumer Electronics (China) Co., Ltd.",
         "诺德利希消费电子（中国）有限公司", type="enterprise", sector="electronics",
         province="Shanghai", city="Shanghai", owner=Role.manager, level="committed", influence=4,
         interest=5, domain="nordlicht.example.com", ownership="foreign_invested", size="medium",
         role="brand_buyer", tags=("brand engagement", "due diligence"),
         notes=("China sourcing office of a European consumer-electronics brand preparing for "
                "the EU due diligence directive; shares supplier lists with the programme.")),
    # --- Textile and garment enterprises (invented) -----------------------------------------
    _Org("yongjiang", "Ningbo Yongjiang Garment Group Co., Ltd.", "宁波甬江服装集团有限公司",
         type="enterprise", sector="textile", province="Zhejiang", city="Ningbo",
         owner=Role.coordinator, level="committed", influence=3, interest=4,
         domain="yongjiang-garment.example.cn", ownership="private", size="large",
         role="tier1_supplier", tags=("RBC pilot", "training 2026", "试点企业"),
         address="Yinzhou District, Ningbo"),
    _Org("yongjiang_knit", "Ningbo Yongjiang Knitting Co., Ltd.", "宁波甬江针织有限公司",
         type="enterprise", sector="textile", province="Zhejiang", city="Ningbo",
         owner=Role.coordinator, level="engaged", influence=2, interest=3,
         domain="yongjiang-garment.example.cn", ownership="private", size="medium",
         role="tier2_supplier", parent="yongjiang"),
    _Org("jinlan", "Shaoxing Keqiao Jinlan Dyeing and Printing Co., Ltd.",
         "绍兴柯桥锦澜印染有限公司", type="enterprise", sector="textile", province="Zhejiang",
         city="Shaoxing", owner=Role.member, level="aware", influence=2, interest=3,
         domain="jinlan-dye.example.cn", ownership="private", size="medium", role="tier2_supplier",
         tags=("environment", "OSH")),
    _Org("fengyi", "Jinjiang Fengyi Sportswear Co., Ltd.", "晋江丰逸运动服饰有限公司",
         type="enterprise", sector="textile", province="Fujian", city="Jinjiang",
         owner=Role.coordinator, level="engaged", influence=3, interest=4,
         domain="fengyi-sports.example.cn", ownership="private", size="large", role="brand_buyer",
         tags=("brand engagement", "training 2026"),
         notes="Domestic sportswear brand; wants to extend its code of conduct to tier-2 mills."),
    _Org("minnan_knit", "Quanzhou Minnan Knitting Co., Ltd.", "泉州闽南针织有限公司",
         type="enterprise", sector="textile", province="Fujian", city="Quanzhou", owner=Role.member,
         level="aware", influence=1, interest=3, domain="minnan-knit.example.cn",
         ownership="private", size="small", role="tier1_supplier", tags=("training 2026",)),
    _Org("lanyu", "Guangzhou Xintang Lanyu Denim Garment Co., Ltd.", "广州新塘蓝宇牛仔服装有限公司",
         type="enterprise", sector="textile", province="Guangdong", city="Guangzhou",
         owner=Role.member, level="aware", influence=2, interest=2, domain="lanyu-denim.example.cn",
         ownership="private", size="medium", role="tier1_supplier", tags=("environment",),
         address="Xintang Town, Zengcheng District, Guangzhou"),
    _Org("xishan_silk", "Wuxi Xishan Silk and Knitwear Co., Ltd.", "无锡锡山丝绸针织有限公司",
         type="enterprise", sector="textile", province="Jiangsu", city="Wuxi",
         owner=Role.coordinator, level="unaware", influence=2, interest=2,
         domain="xishan-silk.example.cn", ownership="state_owned", size="medium",
         role="tier1_supplier",
         notes="Lost its European buyer at the end of 2024; not yet contacted."),
    _Org("jiayi", "Dongguan Humen Jiayi Garment Co., Ltd.", "东莞虎门嘉艺制衣有限公司",
         type="enterprise", sector="textile", province="Guangdong", city="Dongguan",
         owner=Role.member, level="engaged", influence=2, interest=4,
         domain="jiayi-garment.example.com", ownership="joint_venture", size="medium",
         role="tier1_supplier", tags=("RBC pilot", "试点企业"),
         notes=("Hong Kong joint venture; set up a joint OSH committee with worker members in "
                "2026.")),
    _Org("rhone", "Atelier Rhône Sourcing (Shanghai) Co., Ltd.", "罗讷服饰采购（上海）有限公司",
         type="enterprise", sector="textile", province="Shanghai", city="Shanghai",
         owner=Role.manager, level="committed", influence=3, interest=5,
         domain="atelier-rhone.example.com", ownership="foreign_invested", size="small",
         role="brand_buyer", tags=("brand engagement", "due diligence"),
         notes="Sourcing office of a French fashion label; buys from about 40 factories in China."),
)
# fmt: on


@dataclass(frozen=True)
class _Link:
    source: str
    type: RelationshipType
    target: str
    start_on: date | None = None
    end_on: date | None = None
    note: str | None = None


_R = RelationshipType
# fmt: off
RELATIONSHIPS: tuple[_Link, ...] = (
    # Supply chains: electronics
    _Link("prsd_precision", _R.supplier_to, "prsd", start_on=date(2015, 1, 1)),
    _Link("hongxin", _R.supplier_to, "prsd", start_on=date(2018, 6, 1), note="Chargers and cables"),
    _Link("hongxin", _R.supplier_to, "nordlicht", start_on=date(2021, 3, 1)),
    _Link("jinhe", _R.supplier_to, "hongxin", start_on=date(2019, 1, 1),
          note="Printed circuit boards"),
    _Link("lakeview", _R.supplier_to, "nordlicht", start_on=date(2017, 9, 1),
          note="Display modules"),
    _Link("haicang", _R.supplier_to, "prsd", start_on=date(2022, 4, 1), note="Battery cells"),
    _Link("taihu_semi", _R.supplier_to, "nanyue", start_on=date(2020, 1, 1)),
    _Link("nanyue_display", _R.supplier_to, "nanyue", start_on=date(2016, 1, 1)),
    # Supply chains: textile
    _Link("yongjiang", _R.supplier_to, "rhone", start_on=date(2019, 5, 1)),
    _Link("yongjiang_knit", _R.supplier_to, "yongjiang", start_on=date(2014, 1, 1)),
    _Link("jinlan", _R.supplier_to, "yongjiang", start_on=date(2020, 8, 1), note="Dyed fabric"),
    _Link("minnan_knit", _R.supplier_to, "fengyi", start_on=date(2021, 1, 1)),
    _Link("lanyu", _R.supplier_to, "rhone", start_on=date(2022, 2, 1), note="Denim trousers"),
    _Link("jiayi", _R.supplier_to, "rhone", start_on=date(2018, 3, 1)),
    _Link("xishan_silk", _R.supplier_to, "rhone", start_on=date(2016, 1, 1),
          end_on=date(2024, 12, 31), note="Orders moved to Ningbo"),
    # Groups
    _Link("prsd_precision", _R.subsidiary_of, "prsd", start_on=date(2012, 7, 1)),
    _Link("nanyue_display", _R.subsidiary_of, "nanyue", start_on=date(2009, 1, 1)),
    _Link("yongjiang_knit", _R.subsidiary_of, "yongjiang", start_on=date(2011, 3, 1)),
    # Membership
    _Link("prsd", _R.member_of, "ceea"),
    _Link("hongxin", _R.member_of, "ceea"),
    _Link("nanyue", _R.member_of, "ceea"),
    _Link("yongjiang", _R.member_of, "cntac"),
    _Link("fengyi", _R.member_of, "cntac"),
    _Link("jinlan", _R.member_of, "cntac"),
    _Link("yongjiang", _R.member_of, "ccct"),
    _Link("nordlicht", _R.member_of, "euccc"),
    _Link("rhone", _R.member_of, "euccc"),
    _Link("prsd", _R.member_of, "cec"),
    _Link("gdftu", _R.member_of, "acftu"),
    _Link("fclt_union", _R.member_of, "acftu"),
    _Link("hongxin_union", _R.member_of, "gdftu", start_on=date(2008, 5, 1)),
    # Supervision
    _Link("gd_hrss", _R.supervised_by, "mohrss"),
    _Link("sz_hrss", _R.supervised_by, "gd_hrss"),
    _Link("js_commerce", _R.supervised_by, "mofcom"),
    _Link("ccct", _R.supervised_by, "mofcom"),
    _Link("caitec", _R.supervised_by, "mofcom"),
    _Link("culr", _R.supervised_by, "acftu"),
    # Partnerships
    _Link("ilo", _R.partner_of, "oecd", start_on=date(2024, 1, 1), note="Joint implementation"),
    _Link("eu_delegation", _R.partner_of, "ilo", start_on=date(2024, 1, 1),
          note="Donor of the programme"),
    _Link("ilo", _R.partner_of, "mohrss", start_on=date(2024, 9, 1), note="MoU on RBC cooperation"),
    _Link("hexie", _R.partner_of, "hongxin", start_on=date(2025, 5, 1), note="Worker hotline"),
    _Link("green_loom", _R.partner_of, "cntac", start_on=date(2025, 10, 1)),
)
# fmt: on


# ---------------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Past:
    org: str
    title: str
    start_on: date
    end_on: date


@dataclass(frozen=True)
class _Person:
    chinese: str | None
    family: str
    given: str
    gender: str
    title: str
    org: str
    since: date
    owner: Role
    level: str = "aware"
    influence: int = 2
    interest: int = 3
    lang: str = "zh"
    # (date, source) when consent was given; None when unknown.
    consent: tuple[date, str] | None = None
    wechat: str | None = None
    # "" derives family.given@<organisation's domain>; None means no e-mail on file.
    email: str | None = ""
    has_phone: bool = True
    tags: tuple[str, ...] = ()
    past: tuple[_Past, ...] = ()
    notes: str | None = None


TRAINING_SZ = (date(2025, 3, 12), "Sign-in sheet, OSH training for electronics suppliers, Shenzhen")
FORUM_BJ = (date(2025, 6, 18), "Registration form, national RBC forum, Beijing")
WORKSHOP_NB = (date(2025, 9, 24), "签到表：宁波纺织供应链尽责管理研讨会")
PRIVACY_EMAIL = (date(2026, 4, 9), "E-mail reply to the programme's privacy notice")
INSPECTORS_GZ = (date(2026, 5, 20), "Registration form, labour-inspector training, Guangzhou")
MOU_SHEET = (date(2024, 11, 6), "Contact sheet annexed to the MoU")
CARD = (date(2026, 3, 3), "名片及口头同意（工厂走访）")

# fmt: off
PEOPLE: tuple[_Person, ...] = (
    # --- Pearl River Smart Devices and its subsidiary ---------------------------------------
    _Person("陈晓燕", "Chen", "Xiaoyan", "female", "Vice President, Sustainability", "prsd",
            date(2021, 9, 1), Role.coordinator, level="champion", influence=4, interest=5,
            consent=TRAINING_SZ, wechat="cxy_prsd", tags=("RBC pilot", "forum speaker"),
            past=(_Past("lakeview", "CSR Manager", date(2016, 4, 1), date(2021, 8, 31)),),
            notes="Drives the supplier programme; prefers WeChat for quick questions."),
    _Person("黄志强", "Huang", "Zhiqiang", "male", "Director, Supplier Quality and Compliance",
            "prsd", date(2017, 3, 1), Role.coordinator, level="engaged", influence=3, interest=4,
            consent=TRAINING_SZ),
    _Person("刘婷", "Liu", "Ting", "female", "HR Director", "prsd", date(2019, 1, 7), Role.member,
            level="engaged", influence=3, consent=TRAINING_SZ, wechat="liuting_hr"),
    _Person("吴建华", "Wu", "Jianhua", "male", "Factory Manager", "prsd_precision",
            date(2014, 5, 1), Role.coordinator, influence=3, interest=2),
    _Person("周丽", "Zhou", "Li", "female", "EHS Manager", "prsd_precision", date(2018, 10, 8),
            Role.coordinator, level="engaged", interest=4, consent=TRAINING_SZ, wechat="zhouli_ehs",
            tags=("OSH",)),
    # --- Hongxin and its union --------------------------------------------------------------
    _Person("林国栋", "Lin", "Guodong", "male", "General Manager", "hongxin", date(2009, 2, 1),
            Role.member, level="committed", influence=3, interest=4, consent=CARD,
            wechat="lgd_hongxin", tags=("RBC pilot",)),
    _Person("何秀英", "He", "Xiuying", "female", "HR Director", "hongxin", date(2020, 6, 15),
            Role.member, level="champion", interest=5, consent=TRAINING_SZ, wechat="hexiuying88",
            tags=("RBC pilot", "trainer"),
            past=(_Past("jinhe", "HR Manager", date(2014, 3, 1), date(2020, 5, 31)),),
            notes="在试点中负责申诉机制，愿意在培训中分享经验。"),
    _Person("郭敏", "Guo", "Min", "female", "CSR Manager", "hongxin", date(2022, 4, 1), Role.member,
            level="engaged", interest=4, consent=TRAINING_SZ),
    _Person("罗建军", "Luo", "Jianjun", "male", "Trade Union Chair", "hongxin_union",
            date(2020, 1, 1), Role.member, level="engaged", interest=5, consent=CARD,
            wechat="luojj_gh", tags=("工会",),
            past=(_Past("hongxin", "Production Supervisor", date(2012, 8, 1),
                        date(2019, 12, 31)),)),
    # --- Jinhe ------------------------------------------------------------------------------
    _Person("邓伟", "Deng", "Wei", "male", "Deputy General Manager", "jinhe", date(2016, 7, 1),
            Role.member, interest=2),
    _Person("谢静", "Xie", "Jing", "female", "HR Manager", "jinhe", date(2020, 7, 1), Role.member,
            influence=1, consent=CARD, wechat="xiejing_jh"),
    # --- Lakeview ---------------------------------------------------------------------------
    _Person("蔡明哲", "Cai", "Mingzhe", "male", "General Manager", "lakeview", date(2015, 1, 1),
            Role.coordinator, influence=3, interest=2, lang="en"),
    _Person("许佳怡", "Xu", "Jiayi", "female", "CSR Manager", "lakeview", date(2021, 10, 11),
            Role.coordinator, level="engaged", interest=4, lang="en", consent=FORUM_BJ,
            wechat="jiayi_xu"),
    _Person("王磊", "Wang", "Lei", "male", "EHS Manager", "lakeview", date(2020, 9, 1),
            Role.coordinator, level="engaged", consent=FORUM_BJ,
            past=(_Past("prsd_precision", "EHS Engineer", date(2016, 7, 1), date(2020, 8, 15)),)),
    # --- Taihu Semiconductor ----------------------------------------------------------------
    _Person("钱伟民", "Qian", "Weimin", "male", "HR Director", "taihu_semi", date(2013, 4, 1),
            Role.member, level="unaware", interest=2),
    _Person("沈丹", "Shen", "Dan", "undisclosed", "Compliance Officer", "taihu_semi",
            date(2023, 2, 20), Role.member, influence=1, consent=PRIVACY_EMAIL),
    # --- Nanyue group -----------------------------------------------------------------------
    _Person("梁振华", "Liang", "Zhenhua", "male", "Deputy General Manager", "nanyue",
            date(2018, 1, 1), Role.manager, level="engaged", influence=4, consent=MOU_SHEET),
    _Person("赵敏", "Zhao", "Min", "female", "Head of Social Responsibility Office", "nanyue",
            date(2020, 3, 1), Role.manager, level="committed", influence=3, interest=5,
            consent=MOU_SHEET, wechat="zhaomin_ny", tags=("focal point",)),
    _Person("杨帆", "Yang", "Fan", "male", "Factory Director", "nanyue_display", date(2019, 6, 1),
            Role.coordinator, influence=3, interest=2),
    # --- Haicang ----------------------------------------------------------------------------
    _Person("郑海燕", "Zheng", "Haiyan", "female", "EHS Manager", "haicang", date(2021, 5, 10),
            Role.member, level="engaged", interest=4, consent=TRAINING_SZ, wechat="zhy_haicang",
            tags=("OSH",)),
    _Person("陈志明", "Chen", "Zhiming", "male", "General Manager", "haicang", date(2012, 9, 1),
            Role.member, level="unaware", interest=1, email=None),
    # --- Nordlicht --------------------------------------------------------------------------
    _Person(None, "Becker", "Lukas", "male", "Head of Responsible Sourcing, Asia", "nordlicht",
            date(2022, 1, 10), Role.manager, level="committed", influence=4, interest=5, lang="en",
            consent=FORUM_BJ, tags=("brand engagement", "forum speaker")),
    _Person("孙悦", "Sun", "Yue", "female", "Supplier Sustainability Manager", "nordlicht",
            date(2023, 2, 1), Role.manager, level="committed", influence=3, interest=5, lang="en",
            consent=FORUM_BJ, wechat="sunyue_sh",
            past=(_Past("ilo", "National Project Officer", date(2017, 9, 1), date(2022, 12, 31)),)),
    # --- Yongjiang group --------------------------------------------------------------------
    _Person("胡建国", "Hu", "Jianguo", "male", "Chairman", "yongjiang", date(2003, 1, 1),
            Role.coordinator, level="committed", influence=4, consent=WORKSHOP_NB, email=None),
    _Person("朱琳", "Zhu", "Lin", "female", "HR Director", "yongjiang", date(2016, 8, 1),
            Role.coordinator, level="engaged", influence=3, interest=4, consent=WORKSHOP_NB,
            wechat="zhulin_yj"),
    _Person("徐芳", "Xu", "Fang", "female", "Social Compliance Manager", "yongjiang",
            date(2019, 3, 18), Role.coordinator, level="champion", interest=5, consent=WORKSHOP_NB,
            wechat="xufang_compliance", tags=("RBC pilot", "trainer")),
    _Person("曹勇", "Cao", "Yong", "male", "Factory Manager", "yongjiang_knit", date(2011, 3, 1),
            Role.coordinator, interest=2, consent=WORKSHOP_NB),
    # --- Jinlan -----------------------------------------------------------------------------
    _Person("马俊", "Ma", "Jun", "male", "EHS Manager", "jinlan", date(2018, 4, 1), Role.member,
            consent=WORKSHOP_NB, tags=("OSH",)),
    _Person("韩雪", "Han", "Xue", "female", "HR Manager", "jinlan", date(2021, 11, 1), Role.member,
            influence=1, wechat="hanxue_kq"),
    # --- Fengyi and Minnan Knitting ---------------------------------------------------------
    _Person("丁晓东", "Ding", "Xiaodong", "male", "Vice President, Supply Chain", "fengyi",
            date(2017, 6, 1), Role.coordinator, level="engaged", influence=3, consent=FORUM_BJ),
    _Person("蔡雅琴", "Cai", "Yaqin", "female", "CSR Manager", "fengyi", date(2022, 7, 18),
            Role.coordinator, level="committed", interest=5, consent=FORUM_BJ, wechat="caiyaqin_fy",
            past=(_Past("jiayi", "Compliance Officer", date(2017, 2, 1), date(2022, 6, 30)),)),
    _Person("林美玲", "Lin", "Meiling", "female", "Owner and General Manager", "minnan_knit",
            date(2008, 10, 1), Role.member, influence=1, consent=CARD, wechat="minnan_lml",
            email=None, notes="只用微信和电话联系，没有工作邮箱。"),
    # --- Lanyu, Xishan Silk, Jiayi ----------------------------------------------------------
    _Person("彭刚", "Peng", "Gang", "male", "Production Manager", "lanyu", date(2015, 2, 1),
            Role.member, level="unaware", interest=1),
    _Person("唐小红", "Tang", "Xiaohong", "female", "HR Supervisor", "lanyu", date(2022, 3, 14),
            Role.member, influence=1, wechat="tangxh_denim"),
    _Person("范国强", "Fan", "Guoqiang", "male", "General Manager", "xishan_silk", date(2014, 1, 1),
            Role.coordinator, level="unaware", interest=2),
    _Person("蒋慧", "Jiang", "Hui", "female", "Trade Union Chair", "xishan_silk", date(2017, 5, 1),
            Role.coordinator, level="unaware", influence=1, tags=("工会",)),
    _Person("叶志伟", "Ye", "Zhiwei", "male", "Managing Director", "jiayi", date(2006, 4, 1),
            Role.member, level="engaged", influence=3, lang="en", consent=CARD),
    _Person("冯丽娟", "Feng", "Lijuan", "female", "HR and Administration Manager", "jiayi",
            date(2019, 9, 1), Role.member, level="committed", interest=4, consent=CARD,
            wechat="fenglijuan_jy", tags=("RBC pilot",)),
    _Person("邹小梅", "Zou", "Xiaomei", "female", "Worker Representative, OSH Committee", "jiayi",
            date(2026, 1, 5), Role.member, level="engaged", influence=1, interest=5, consent=CARD,
            email=None, notes="职业安全健康委员会的工人代表，2026年1月当选。"),
    # --- Atelier Rhône ----------------------------------------------------------------------
    _Person(None, "Roussel", "Camille", "female", "Country Manager, Sourcing", "rhone",
            date(2020, 9, 1), Role.manager, level="committed", influence=3, interest=5, lang="en",
            consent=FORUM_BJ, tags=("brand engagement",)),
    _Person("王静", "Wang", "Jing", "female", "Social Compliance Auditor", "rhone",
            date(2021, 4, 1), Role.manager, level="engaged", interest=4, consent=WORKSHOP_NB,
            wechat="wangjing_audit"),
    # --- Ministries and bureaus -------------------------------------------------------------
    _Person("李建平", "Li", "Jianping", "male",
            "Deputy Director-General (副司长), Department of Labour Relations", "mohrss",
            date(2019, 7, 1), Role.manager, level="committed", influence=5, interest=4,
            consent=MOU_SHEET, tags=("focal point",)),
    _Person("王晓梅", "Wang", "Xiaomei", "female",
            "Division Director (处长), Department of International Cooperation", "mohrss",
            date(2018, 3, 1), Role.manager, level="committed", influence=4, interest=4,
            consent=MOU_SHEET, tags=("MoU partner",)),
    _Person("张磊", "Zhang", "Lei", "male",
            "Programme Officer, Department of International Cooperation", "mohrss",
            date(2022, 8, 1), Role.coordinator, level="engaged", interest=4, consent=MOU_SHEET),
    _Person("何建明", "He", "Jianming", "male", "Visiting Professor", "culr", date(2024, 9, 1),
            Role.manager, level="engaged", influence=4, interest=4, consent=FORUM_BJ,
            past=(_Past("mohrss", "Deputy Director-General (副司长), Labour Inspection Bureau",
                        date(2008, 1, 1), date(2024, 6, 30)),),
            notes="Retired from the ministry in 2024; still opens doors in provincial bureaus."),
    _Person("刘洋", "Liu", "Yang", "male", "Division Director (处长), Department of Foreign Trade",
            "mofcom", date(2020, 2, 1), Role.manager, level="engaged", influence=4,
            consent=FORUM_BJ),
    _Person("高洁", "Gao", "Jie", "female",
            "Deputy Division Director, Department of Outward Investment and Economic Cooperation",
            "mofcom", date(2021, 6, 1), Role.manager, influence=3, has_phone=False),
    _Person("周斌", "Zhou", "Bin", "male",
            "Division Director (处长), Department of Electronic Information", "miit",
            date(2019, 11, 1), Role.manager, influence=4, interest=2),
    _Person("黄丽华", "Huang", "Lihua", "female",
            "Division Director (处长), Labour Inspection Division", "gd_hrss", date(2017, 4, 1),
            Role.coordinator, level="committed", influence=4, interest=5, consent=INSPECTORS_GZ,
            tags=("training 2026", "focal point")),
    _Person("陈刚", "Chen", "Gang", "male", "Deputy Division Director, Labour Relations Division",
            "gd_hrss", date(2022, 3, 1), Role.coordinator, level="engaged", influence=3, interest=4,
            consent=INSPECTORS_GZ,
            past=(_Past("sz_hrss", "Section Chief (科长), Labour Inspection", date(2013, 7, 1),
                        date(2022, 2, 28)),)),
    _Person("吴晓丽", "Wu", "Xiaoli", "female",
            "Section Chief (科长), Labour Inspection Detachment", "sz_hrss", date(2022, 3, 15),
            Role.coordinator, level="engaged", influence=3, interest=4, consent=INSPECTORS_GZ,
            wechat="wxl_sz"),
    _Person("梁伟", "Liang", "Wei", "male", "Labour Inspector", "sz_hrss", date(2019, 8, 1),
            Role.coordinator, consent=INSPECTORS_GZ),
    _Person("孙志刚", "Sun", "Zhigang", "male", "Division Director (处长), Foreign Trade Division",
            "js_commerce", date(2018, 5, 1), Role.member, influence=4, interest=2),
    _Person("顾婷", "Gu", "Ting", "undisclosed", "Officer, Foreign Trade Division", "js_commerce",
            date(2023, 7, 1), Role.member, influence=1, consent=PRIVACY_EMAIL),
    # --- Industry bodies --------------------------------------------------------------------
    _Person("杨军", "Yang", "Jun", "male", "Director, Office for Social Responsibility", "cntac",
            date(2012, 1, 1), Role.coordinator, level="champion", influence=4, interest=5,
            consent=MOU_SHEET, tags=("forum speaker",)),
    _Person("刘佳", "Liu", "Jia", "female", "Programme Manager, CSC9000T", "cntac",
            date(2019, 2, 1), Role.coordinator, level="committed", interest=5, consent=WORKSHOP_NB,
            wechat="liujia_csc", tags=("trainer",)),
    _Person("田伟", "Tian", "Wei", "male", "Deputy Secretary-General", "ceea", date(2016, 10, 1),
            Role.coordinator, level="engaged", influence=3, interest=4, consent=FORUM_BJ),
    _Person("郝晶", "Hao", "Jing", "female", "Director, Sustainability Department", "ccct",
            date(2018, 6, 1), Role.member, level="engaged", influence=3, interest=4,
            consent=FORUM_BJ),
    _Person("邱立新", "Qiu", "Lixin", "male", "Deputy Director, Employers' Work Department", "cec",
            date(2015, 3, 1), Role.manager, level="committed", influence=3, interest=4,
            consent=MOU_SHEET),
    _Person(None, "Kowalski", "Anna", "female", "Policy Manager, CSR Working Group", "euccc",
            date(2023, 4, 1), Role.manager, level="engaged", interest=4, lang="en",
            consent=FORUM_BJ),
    _Person("赵晨", "Zhao", "Chen", "undisclosed", "Senior Policy Officer", "euccc",
            date(2021, 9, 1), Role.manager, lang="en", has_phone=False),
    # --- Trade unions -----------------------------------------------------------------------
    _Person("石红", "Shi", "Hong", "female", "Deputy Director, International Liaison Department",
            "acftu", date(2016, 5, 1), Role.manager, level="committed", influence=4, interest=4,
            consent=MOU_SHEET),
    _Person("孔德明", "Kong", "Deming", "male", "Division Director (处长), Legal Work Department",
            "acftu", date(2014, 9, 1), Role.manager, influence=4),
    _Person("潘慧玲", "Pan", "Huiling", "female", "Director, Labour Protection Department", "gdftu",
            date(2018, 2, 1), Role.coordinator, level="engaged", influence=3, interest=4,
            consent=INSPECTORS_GZ, tags=("工会",)),
    _Person("钟华", "Zhong", "Hua", "male", "Officer, Grassroots Organisation Department", "gdftu",
            date(2021, 7, 1), Role.coordinator, consent=INSPECTORS_GZ, wechat="zhonghua_gdftu"),
    _Person("姜涛", "Jiang", "Tao", "male", "Deputy Director, Textile Industry Work Department",
            "fclt_union", date(2017, 11, 1), Role.coordinator, influence=3),
    # --- Research ---------------------------------------------------------------------------
    _Person("贾文博", "Jia", "Wenbo", "male",
            "Professor, School of Labour Relations and Human Resources", "culr", date(2010, 9, 1),
            Role.coordinator, level="engaged", influence=3, interest=5, consent=FORUM_BJ,
            tags=("research partner",)),
    _Person("任晓", "Ren", "Xiao", "female", "Associate Professor", "culr", date(2018, 9, 1),
            Role.coordinator, level="engaged", interest=5, consent=FORUM_BJ, wechat="renxiao_culr"),
    _Person("唐欣", "Tang", "Xin", "female", "Researcher, Institute of Multinational Corporations",
            "caitec", date(2015, 7, 1), Role.manager, level="committed", influence=3, interest=5,
            consent=FORUM_BJ, tags=("research partner", "forum speaker")),
    _Person("宋明", "Song", "Ming", "male", "Associate Researcher", "caitec", date(2020, 7, 1),
            Role.manager, level="engaged", interest=4, consent=PRIVACY_EMAIL),
    _Person("肖婉", "Xiao", "Wan", "female", "Associate Professor of Sociology", "sysu",
            date(2017, 9, 1), Role.member, level="engaged", interest=5, consent=INSPECTORS_GZ,
            wechat="xiaowan_sysu", notes="研究珠三角电子厂青年工人的工时与社会保障。"),
    # --- International organisations --------------------------------------------------------
    _Person(None, "Halvorsen", "Ingrid", "female", "Director", "ilo", date(2023, 1, 1), Role.admin,
            level="champion", influence=4, interest=5, lang="en", consent=PRIVACY_EMAIL),
    _Person(None, "Herrera", "Tomás", "male", "Senior Specialist, International Labour Standards",
            "ilo", date(2022, 5, 1), Role.admin, level="champion", influence=3, interest=5,
            lang="en", consent=PRIVACY_EMAIL, tags=("trainer",)),
    _Person("李静", "Li", "Jing", "female", "National Programme Officer", "ilo", date(2019, 4, 1),
            Role.admin, level="champion", interest=5, consent=PRIVACY_EMAIL, wechat="lijing_ilo",
            past=(_Past("caitec", "Assistant Researcher", date(2015, 7, 1), date(2019, 3, 31)),)),
    _Person(None, "de Vries", "Pieter", "male", "First Secretary, Trade Section", "eu_delegation",
            date(2023, 9, 1), Role.manager, level="champion", influence=5, interest=4, lang="en",
            consent=PRIVACY_EMAIL,
            past=(_Past("euccc", "Trade Policy Adviser", date(2019, 2, 1), date(2023, 6, 30)),)),
    _Person("马丽", "Ma", "Li", "female", "Programme Manager, Cooperation Section", "eu_delegation",
            date(2020, 10, 1), Role.manager, level="champion", influence=3, interest=5, lang="en",
            consent=PRIVACY_EMAIL, tags=("donor reporting",)),
    _Person(None, "Marchetti", "Sofia", "female", "Policy Analyst", "oecd", date(2021, 3, 1),
            Role.manager, level="committed", influence=3, interest=5, lang="en",
            consent=PRIVACY_EMAIL),
    # --- NGOs -------------------------------------------------------------------------------
    _Person("袁芳", "Yuan", "Fang", "female", "Director", "hexie", date(2013, 6, 1), Role.member,
            level="committed", interest=5, consent=TRAINING_SZ, wechat="yuanfang_sw"),
    _Person("莫凡", "Mo", "Fan", "male", "Hotline Coordinator", "hexie", date(2024, 2, 1),
            Role.member, level="engaged", influence=1, interest=5, consent=TRAINING_SZ,
            wechat="mofan_hotline", tags=("grievance mechanisms",)),
    _Person("方可", "Fang", "Ke", "undisclosed", "Programme Lead", "green_loom", date(2022, 5, 1),
            Role.coordinator, influence=1, interest=4, consent=WORKSHOP_NB,
            wechat="fangke_greenloom"),
)
# fmt: on

# Dialling codes of the cities above, for office landlines.
AREA_CODES = {
    "Beijing": "10",
    "Shanghai": "21",
    "Guangzhou": "20",
    "Shenzhen": "755",
    "Dongguan": "769",
    "Suzhou": "512",
    "Wuxi": "510",
    "Nanjing": "25",
    "Ningbo": "574",
    "Shaoxing": "575",
    "Xiamen": "592",
    "Quanzhou": "595",
    "Jinjiang": "595",
}
MOBILE_PREFIXES = ("138", "139", "136", "135", "186", "187", "150", "158", "177", "189")
OFFICE_TYPES = {"government", "academic", "international", "industry_body", "trade_union"}


def _digits(n: int, width: int) -> str:
    # A fixed scramble of the index: numbers look varied but never change between seeds.
    return f"{(n * 7_919_393 + 4_127_003) % 10**width:0{width}d}"


def _phone(n: int, org: _Org) -> str:
    if org.city == "Paris":
        return f"+33 1 45 24 {_digits(n, 2)} {_digits(n + 7, 2)}"
    if org.type in OFFICE_TYPES and org.city in AREA_CODES:
        local = f"{5 + n % 4}{_digits(n, 7)}"
        return f"+86 {AREA_CODES[org.city]} {local[:4]} {local[4:]}"
    digits = _digits(n, 8)
    return f"+86 {MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]} {digits[:4]} {digits[4:]}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _email(person: _Person, org: _Org) -> str | None:
    if person.email != "":
        return person.email
    first, second = (
        (person.family, person.given) if person.chinese else (person.given, person.family)
    )
    return f"{_ascii(first)}.{_ascii(second)}@{org.domain}"


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    organisations: dict[str, Organisation]  # by key
    people_by_org: dict[str, list[Person]]  # by organisation key, in the order of PEOPLE
    affiliations: int


def load(*, admin: User, owners: Mapping[Role, int]) -> Loaded:
    """Create the organisations, their relationships, the people and their positions."""
    orgs = _create_organisations(admin=admin, owners=owners)
    _create_relationships(orgs, admin=admin)
    people_by_org, affiliations = _create_people(orgs, admin=admin, owners=owners)
    return Loaded(orgs, people_by_org, affiliations)


def _create_organisations(*, admin: User, owners: Mapping[Role, int]) -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}
    for spec in ORGANISATIONS:  # parents are listed before their subsidiaries
        data = {
            "display_name": spec.name,
            "chinese_name": spec.chinese,
            "org_type": spec.type,
            "sector": spec.sector,
            "ownership": spec.ownership,
            "size_band": spec.size,
            "supply_chain_role": spec.role,
            "province": spec.province,
            "city": spec.city,
            "address": spec.address,
            "website": spec.website,
            "parent_id": orgs[spec.parent].id if spec.parent else None,
            "owner_id": owners[spec.owner],
            "engagement_level": spec.level,
            "influence": spec.influence,
            "interest": spec.interest,
            "tags": list(spec.tags),
            "notes": spec.notes,
        }
        orgs[spec.key] = stakeholders.create_organisation(data, actor=admin, allow_duplicate=True)
    return orgs


def _create_relationships(orgs: Mapping[str, Organisation], *, admin: User) -> None:
    for link in RELATIONSHIPS:
        stakeholders.add_relationship(
            orgs[link.source],
            target_id=orgs[link.target].id,
            type=link.type,
            start_on=link.start_on,
            end_on=link.end_on,
            note=link.note,
            actor=admin,
        )


def _create_people(
    orgs: Mapping[str, Organisation], *, admin: User, owners: Mapping[Role, int]
) -> tuple[dict[str, list[Person]], int]:
    """The people, each with their past positions and their current one; returns them by
    organisation key, and how many positions were written."""
    specs = {spec.key: spec for spec in ORGANISATIONS}
    affiliations = 0
    people_by_org: dict[str, list[Person]] = {}
    for n, spec in enumerate(PEOPLE):
        org = specs[spec.org]
        consent_on, consent_source = spec.consent or (None, None)
        data = {
            "chinese_name": spec.chinese,
            "family_name": spec.family,
            "given_name": spec.given,
            "gender": spec.gender,
            "job_title": spec.title,
            "email": _email(spec, org),
            "phone": _phone(n, org) if spec.has_phone else None,
            "wechat_id": spec.wechat,
            "preferred_language": spec.lang,
            "consent": "given" if spec.consent else "unknown",
            "consent_on": consent_on,
            "consent_source": consent_source,
            "owner_id": owners[spec.owner],
            "engagement_level": spec.level,
            "influence": spec.influence,
            "interest": spec.interest,
            "tags": list(spec.tags),
            "notes": spec.notes,
        }
        person = stakeholders.create_person(data, actor=admin, allow_duplicate=True)
        people_by_org.setdefault(spec.org, []).append(person)
        positions: list[tuple[str, str, date, date | None]] = [
            (p.org, p.title, p.start_on, p.end_on) for p in spec.past
        ]
        positions.append((spec.org, spec.title, spec.since, None))
        for org_key, title, start_on, end_on in positions:
            stakeholders.add_affiliation(
                person,
                organisation_id=orgs[org_key].id,
                title=title,
                start_on=start_on,
                end_on=end_on,
                actor=admin,
            )
            affiliations += 1
    return people_by_org, affiliations
