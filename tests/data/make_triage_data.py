"""Generate the triage development and evaluation sets (written for this project).

Templates and slot values are ours. The two sets use disjoint templates (every third one is
development-only) and different random seeds, so tuning the lexicons on the development set
says little in advance about the evaluation set.

    .venv/bin/python tests/data/make_triage_data.py
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz
from vietnam_provinces import Ward

HERE = Path(__file__).parent

# --- slot values ------------------------------------------------------------------------
NAMES = [
    "Hoa Hồng",
    "Thiên Đường",
    "Ngọc Lan",
    "Sao Mai",
    "Hoàng Gia",
    "Phương Nam",
    "Bông Sen",
    "Kim Cương",
    "Ánh Dương",
    "Mộng Mơ",
    "Hải Âu",
    "Tuyết Nhung",
    "Lan Anh",
    "Thanh Bình",
    "Bảo Ngọc",
    "Diamond",
    "Queen",
    "Paradise",
    "Hương Xưa",
    "Đêm Trắng",
    "Thủy Tiên",
    "Hồng Nhung",
    "Cát Tường",
    "Phú Quý",
    "Vạn Phát",
    "Hạnh Phúc",
    "Trăng Vàng",
    "Như Ý",
    "Sơn Thủy",
    "Hoa Mai",
    "Tâm An",
    "Minh Châu",
    "Galaxy",
    "New Star",
    "Golden",
    "Ruby",
    "Luxury",
    "Venus",
    "Sunrise",
    "Moonlight",
    "Bích Ngọc",
    "Thảo Nguyên",
    "Hoa Sữa",
    "Mây Trắng",
    "Hương Sen",
    "Quỳnh Anh",
    "Tình Xanh",
    "Bến Xưa",
    "Lá Me",
]
STREETS = [
    "Trần Phú",
    "Lê Lợi",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Quang Trung",
    "Lý Thường Kiệt",
    "Nguyễn Huệ",
    "Điện Biên Phủ",
    "Hùng Vương",
    "Lê Duẩn",
    "Phan Đình Phùng",
    "Bạch Đằng",
    "Ngô Quyền",
    "Lạc Long Quân",
    "Võ Văn Kiệt",
    "Trường Chinh",
    "Cách Mạng Tháng Tám",
    "Nguyễn Văn Cừ",
    "Tôn Đức Thắng",
    "Phạm Văn Đồng",
]
COUNTRIES_VI = ["Trung Quốc", "Campuchia", "Lào", "Myanmar", "Malaysia"]
COUNTRIES_EN = ["China", "Cambodia", "Laos", "Myanmar", "Malaysia"]
PLATFORMS = ["Facebook", "Zalo", "Telegram", "TikTok", "Instagram"]
GROUPS = [
    "Hội những người cô đơn",
    "Gái xinh Sài Gòn 24/7",
    "Tìm bạn đi chơi",
    "Review em út",
    "Giao lưu kết bạn",
    "Đêm Hà Thành",
    "Chill cùng em",
    "Check hàng",
    "Hẹn hò nghiêm túc",
    "Góc tâm sự",
]
NICKS = ["baby.ngoc99", "em_yeu_2k5", "thao.vy.official", "linh_chill", "bella.hn", "mimi.sg", "hana2k4"]
DOMAINS = ["gaigoi-vip.net", "hen-ho-nhanh.com", "emxinh24h.com", "dichvu-thugian.net", "sgnight.me"]
SPAM_DOMAINS = ["bit.ly/qua-tang", "nhanqua-2026.com", "vaynhanh24h.vn", "km-sale.shop", "win-88.io"]
PARKS = ["Tao Đàn", "Lê Văn Tám", "Thống Nhất", "Hòa Bình", "bờ hồ", "23 Tháng 9"]
VENUE_TYPES = ["Quán karaoke", "Tiệm massage", "Spa", "Quán bia", "Tiệm gội đầu", "Nhà hàng", "Quán cà phê"]
TIMES = ["tối qua", "tối thứ bảy vừa rồi", "đêm hôm kia", "chiều nay", "mấy tối gần đây", "tuần trước"]
AGES = ["14", "15", "16", "17", "13"]


def phone(r: random.Random) -> str:
    prefix = r.choice(["090", "091", "093", "097", "098", "086", "035", "038", "070", "083"])
    digits = "".join(r.choice("0123456789") for _ in range(7))
    style = r.random()
    if style < 0.4:
        return prefix + digits
    if style < 0.7:
        return f"{prefix}{digits[0]} {digits[1:4]} {digits[4:]}"
    return f"{prefix}{digits[0]}.{digits[1:4]}.{digits[4:]}"


def receipt(r: random.Random) -> str:
    return "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))


# --- places: unambiguous 2025 wards (labelled), ambiguous and old-district names (null) ----
def _short(name: str) -> str:
    folded = strip(name).lower()
    for kind in ("phuong ", "xa ", "dac khu "):
        if folded.startswith(kind):
            return " ".join(folded[len(kind) :].split())
    return folded


def strip(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


WARDS = [w for w in Ward.iter_all() if "  " not in w.name]
_COUNT = Counter(_short(w.name) for w in WARDS)
UNIQUE = [w for w in WARDS if _COUNT[_short(w.name)] == 1 and len(_short(w.name).split()) >= 2]
AMBIGUOUS = sorted({w.name for w in WARDS if _COUNT[_short(w.name)] >= 3})
OLD_DISTRICTS = [
    "quận 1",
    "quận 3",
    "quận Bình Thạnh",
    "huyện Củ Chi",
    "quận Hoàn Kiếm",
    "quận Đống Đa",
    "quận Hải Châu",
    "huyện Thanh Trì",
    "quận Ninh Kiều",
    "thị xã Sơn Tây",
]


def place(r: random.Random) -> tuple[str, str | None]:
    """A place phrase (with a leading separator) and its label."""
    roll = r.random()
    if roll < 0.45:
        return "", None
    if roll < 0.85:
        w = r.choice(UNIQUE)
        return r.choice(
            [
                f", {w.name.lower()[:1]}{w.name[1:]}",
                f" ở {w.name.lower()[:1]}{w.name[1:]}",
                f" thuộc {w.name}",
            ]
        ), f"{int(w.code):05d}"
    if roll < 0.93:
        return f" ở {r.choice(AMBIGUOUS)}", None
    return f" ở {r.choice(OLD_DISTRICTS)}", None


# --- templates: (category, urgent, text). Slots: {name} {street} {place} {phone} ... ----------
VI: list[tuple[str, bool, str]] = [
    (
        "venue",
        False,
        "{vt} {name} trên đường {street}{place} có nhân viên nữ ngồi tiếp khách rồi dẫn lên phòng trên lầu, nghi là bán dâm. Tối nào cũng đông.",
    ),
    (
        "venue",
        False,
        "Tôi phản ánh cơ sở massage {name}{place} hoạt động tới 2 giờ sáng, khách vào phòng riêng với nhân viên, có dịch vụ đặc biệt.",
    ),
    (
        "venue",
        False,
        "Nhà nghỉ {name} ở đường {street}{place} thường xuyên có gái ra vào, chủ nhà nghỉ gọi gái cho khách qua số {phone}.",
    ),
    (
        "venue",
        False,
        'Tiệm gội đầu thư giãn {name}{place} bên ngoài thì gội đầu nhưng bên trong có phòng kín, nhân viên mời khách làm thêm "dịch vụ".',
    ),
    (
        "venue",
        False,
        "Tố giác quán bia ôm {name} gần chợ {street}, mỗi tối có khoảng chục cô tiếp viên, khách trả tiền là đưa qua nhà nghỉ bên cạnh.",
    ),
    (
        "venue",
        False,
        "Cơ sở massage {name}{place} treo biển massage chân nhưng thực chất là massage kích dục, {time} tôi thấy giá 500 nghìn một lượt.",
    ),
    (
        "venue",
        False,
        "Khu cà phê võng {name} trên quốc lộ{place} có phòng ngăn kín, nhân viên nữ ngồi cùng khách, nghi có mua bán dâm.",
    ),
    (
        "venue",
        False,
        "Khách sạn {name} đường {street} cho thuê phòng theo giờ, lễ tân giới thiệu gái cho khách, giá 1 triệu một lần.",
    ),
    (
        "venue",
        False,
        "Karaoke {name}{place} có phòng VIP, tiếp viên ăn mặc hở hang, khách muốn thì chủ quán sắp xếp đi khách.",
    ),
    ("venue", False, "Xông hơi {name} ở đường {street} là tụ điểm mại dâm trá hình, xe đậu kín cả đêm."),
    (
        "online",
        False,
        'Trên {platform} có nhóm "{group}" đăng ảnh các cô gái kèm giá tiền và số Zalo {phone}, hẹn gặp ở khách sạn.',
    ),
    (
        "online",
        False,
        'Tài khoản Zalo tên {nick} liên tục nhắn tin mời đi "tour" với các bạn nữ, gửi bảng giá và hình ảnh.',
    ),
    ("online", False, "Trang web {domain} quảng cáo gái gọi cao cấp{place}, có cả số điện thoại đặt lịch."),
    (
        "online",
        False,
        'Trên TikTok có tài khoản @{nick} livestream rồi mời người xem inbox để "gặp riêng", tính tiền theo giờ.',
    ),
    (
        "online",
        False,
        'Mình thấy trong nhóm Telegram "{group}" có người đăng bài tuyển sugar baby, kèm link https://{domain}/dang-ky.',
    ),
    (
        "online",
        False,
        "Trên ứng dụng hẹn hò có tài khoản tự giới thiệu là nhân viên văn phòng, nhắn tin báo giá qua đêm 2 triệu, hẹn ở nhà nghỉ.",
    ),
    (
        "online",
        False,
        'Fanpage "{group}" trên Facebook đăng bài công khai mời gọi mua dâm, ai inbox thì được gửi danh sách kèm giá.',
    ),
    (
        "online",
        False,
        'Có người dùng nhiều tài khoản {platform} rao "em út" mỗi ngày, số liên lạc {phone}, đã báo cáo vi phạm mà trang vẫn còn.',
    ),
    (
        "online",
        False,
        "Trên mạng xã hội đang lan truyền đường link {domain} giới thiệu dịch vụ gái gọi ở các khách sạn trung tâm.",
    ),
    (
        "trafficking",
        True,
        "Chị họ tôi được một người quen hứa xin việc nhẹ lương cao ở {country}, đi từ tháng trước giờ mất liên lạc, vừa gọi về nói bị giữ hộ chiếu.",
    ),
    (
        "trafficking",
        True,
        "Có người tên {person} đang tuyển lao động nữ đi {country} làm phục vụ nhà hàng, lương 20 triệu, không cần kinh nghiệm. Tôi nghi là lừa bán người.",
    ),
    (
        "trafficking",
        True,
        "Em gái tôi bị đưa qua biên giới sang {country}, bọn họ gọi về đòi gia đình gửi 50 triệu tiền chuộc.",
    ),
    (
        "trafficking",
        True,
        "Ở{place} có đường dây môi giới lấy chồng nước ngoài, thu tiền của các cô gái rồi đưa sang {country}.",
    ),
    (
        "trafficking",
        True,
        "Một nhóm người đang chở mấy cô gái lên cửa khẩu, nghe nói sẽ đưa qua biên giới đêm nay. Xe 7 chỗ màu trắng.",
    ),
    (
        "trafficking",
        True,
        "Bạn tôi sang {country} làm ở casino, giờ bị giữ giấy tờ, không cho về, bắt tiếp khách để trả nợ.",
    ),
    (
        "trafficking",
        True,
        "Trong xóm có bà {person} chuyên đi rủ các cô gái trẻ đi làm ăn xa, nhiều người đi rồi không thấy về, gia đình không liên lạc được.",
    ),
    (
        "trafficking",
        True,
        "Người yêu quen qua mạng rủ cháu tôi lên biên giới chơi rồi bán sang {country}, cháu vừa trốn được gọi điện về kêu cứu.",
    ),
    (
        "trafficking",
        True,
        "Công ty {name} tuyển nữ đi xuất khẩu lao động nhưng thu giữ hộ chiếu, hứa việc nhẹ lương cao, tôi lo là buôn bán người.",
    ),
    (
        "minor",
        True,
        "{vt} {name}{place} có mấy em nhìn rất nhỏ, chỉ khoảng {age} tuổi, ngồi tiếp khách đến khuya.",
    ),
    (
        "minor",
        True,
        "Tôi thấy một nữ sinh còn mặc đồng phục bị một người đàn ông lớn tuổi đưa vào nhà nghỉ {name} {time}.",
    ),
    (
        "minor",
        True,
        "Con gái nhà hàng xóm mới {age} tuổi, bỏ học, được người ta rủ đi làm tiếp viên ở quán karaoke trên phố.",
    ),
    (
        "minor",
        True,
        "Có người lập nhóm trên mạng dụ dỗ học sinh cấp 2 đi gặp mặt, cho tiền rồi đưa đi khách sạn.",
    ),
    (
        "minor",
        True,
        "Em là học sinh lớp 9, có bạn trong lớp bị một anh lớn lôi kéo đi làm thêm ở quán bia, bạn ấy sợ không dám nói với ai.",
    ),
    (
        "minor",
        True,
        "Ở nhà nghỉ {name}{place} chủ nhà nghỉ cho trẻ vị thành niên vào thuê phòng với người lớn, tối nào cũng có.",
    ),
    (
        "minor",
        True,
        "Một bé gái khoảng {age} tuổi bị bắt đứng mời khách ở quán nước đầu hẻm, hình như bị người lớn ép.",
    ),
    (
        "minor",
        True,
        "Cháu tôi {age} tuổi bị một tài khoản {platform} dụ đi gặp, hứa cho tiền, tối nay hẹn ở khách sạn.",
    ),
    ("street", False, "Tối nào ở công viên {park} cũng có mấy chị đứng đường, chèo kéo đàn ông đi ngang."),
    (
        "street",
        False,
        "Khu vực gầm cầu gần đường {street} sau 10 giờ đêm có gái đứng đường, có người chăn dắt đi xe máy đứng gần đó.",
    ),
    (
        "street",
        False,
        "Dọc đường {street} đoạn gần bến xe, có phụ nữ đứng ven đường vẫy khách, ra giá rồi dẫn vào nhà trọ.",
    ),
    (
        "street",
        False,
        "Ở vỉa hè trước chợ đêm{place} có mấy người mời chào khách qua đường, ai đồng ý thì chở đi bằng xe máy.",
    ),
    (
        "street",
        False,
        "Đêm khuya khu vực bờ kè{place} có người đứng chờ khách, đàn ông dừng xe là lại gần ra giá.",
    ),
    (
        "street",
        False,
        "Mấy người phụ nữ đứng dưới gốc cây đường {street} ngoắc khách, có một người đàn ông thu tiền.",
    ),
    (
        "official_misconduct",
        False,
        "{vt} {name} hoạt động công khai được là nhờ có công an phường bảo kê, mỗi tháng nhận phong bì.",
    ),
    (
        "official_misconduct",
        False,
        "Mỗi lần đoàn kiểm tra xuống thì chủ quán {name} đều được báo trước, tôi nghi có cán bộ tiếp tay.",
    ),
    (
        "official_misconduct",
        False,
        "Một cán bộ xã là người nhà của chủ nhà nghỉ {name} nên ai cũng biết mà làm ngơ.",
    ),
    (
        "official_misconduct",
        False,
        "Có dân phòng nhận tiền hằng tuần của mấy chị đứng đường ở đường {street} để không đuổi.",
    ),
    (
        "official_misconduct",
        False,
        "Tôi biết một cảnh sát khu vực bao che cho đường dây gái gọi ở khách sạn {name}, nhận hối lộ để bỏ qua.",
    ),
    (
        "official_misconduct",
        False,
        "Chủ tiệm massage {name} khoe có ô dù chống lưng, cán bộ phường tới chỉ uống nước rồi về.",
    ),
    (
        "complaint",
        False,
        "Tôi đã báo về quán {name} từ tháng trước, mã tiếp nhận {code}, nhưng đến giờ quán vẫn hoạt động, chưa thấy xử lý.",
    ),
    (
        "complaint",
        False,
        "Tôi muốn khiếu nại việc cán bộ tiếp nhận tin báo có thái độ không đúng, còn hỏi tên tuổi của tôi.",
    ),
    (
        "complaint",
        False,
        "Đã gửi tố giác 3 lần mà không ai trả lời, đề nghị xem lại cách giải quyết của cơ quan.",
    ),
    (
        "complaint",
        False,
        "Tin báo {code} của tôi đã quá 20 ngày nhưng chưa nhận được phản hồi nào, tôi rất bức xúc.",
    ),
    (
        "complaint",
        False,
        "Lần trước tôi báo nhà nghỉ {name} rồi, sao đến giờ vẫn chưa giải quyết? Mong cơ quan trả lời.",
    ),
    ("complaint", False, "Khiếu nại: tôi gửi tin báo mà bị hẹn đi hẹn lại, không ai giải quyết dứt điểm."),
    (
        "obscene_material",
        False,
        'Có nhóm Zalo tên "{group}" chia sẻ phim sex và clip nóng, hơn 2 nghìn thành viên.',
    ),
    (
        "obscene_material",
        False,
        "Cửa hàng đĩa ở đường {street} bán đĩa phim người lớn công khai cho cả khách vãng lai.",
    ),
    ("obscene_material", False, "Trang {domain} đăng video khiêu dâm quay lén rồi phát tán lên mạng."),
    (
        "obscene_material",
        False,
        "Có người phát tán ảnh nóng của một chị trong xóm lên Facebook để làm nhục chị ấy.",
    ),
    (
        "obscene_material",
        False,
        "Tiệm internet {name} cho khách xem phim đen, màn hình để công khai ai đi qua cũng thấy.",
    ),
    ("obscene_material", False, "Một kênh trên Telegram bán clip sex theo gói, thanh toán qua ví điện tử."),
    (
        "info_request",
        False,
        "Cho em hỏi nếu mình biết có quán bán dâm thì báo ở đâu, có bị lộ danh tính không ạ?",
    ),
    ("info_request", False, "Xin hỏi mức phạt đối với hành vi mua dâm theo quy định hiện nay là bao nhiêu?"),
    (
        "info_request",
        False,
        "Tôi muốn được tư vấn: bạn tôi từng bán dâm giờ muốn bỏ nghề thì có chỗ nào hỗ trợ học nghề không?",
    ),
    ("info_request", False, "Làm thế nào để kiểm tra tình trạng tin báo mà tôi đã gửi?"),
    ("info_request", False, "Đường dây nóng hỗ trợ nạn nhân mua bán người là số nào ạ?"),
    ("info_request", False, "Cho mình hỏi làm tiếp viên karaoke có phạm luật không?"),
    (
        "info_request",
        False,
        "Nếu tôi báo tin thì có cần đưa số điện thoại không, thông tin có được giữ bí mật không?",
    ),
    ("info_request", False, "Chị ơi cho em hỏi bên mình có tư vấn cho người bị lừa đi làm xa không ạ?"),
    ("info_request", False, "Môi giới mại dâm bị xử lý như thế nào theo pháp luật Việt Nam?"),
    ("spam", False, "Khuyến mãi cuối tuần giảm giá 50% tất cả sản phẩm, inbox shop ngay"),
    ("spam", False, "Vay tiền nhanh chỉ cần CCCD, giải ngân trong 30 phút, lãi suất thấp, liên hệ {phone}"),
    ("spam", False, "Chúc mừng bạn đã trúng thưởng iPhone, bấm vào link {spam_domain} để nhận quà"),
    ("spam", False, "Nhà cái uy tín số 1, nạp lần đầu tặng 100%, tài xỉu đá gà đủ cả"),
    ("spam", False, "test"),
    ("spam", False, "alo alo"),
    ("spam", False, "Chào admin"),
    ("spam", False, "Kiếm tiền online tại nhà 500k mỗi ngày, đăng ký ngay {spam_domain}"),
    ("spam", False, "ok cảm ơn"),
]

EN: list[tuple[str, bool, str]] = [
    (
        "venue",
        False,
        "There is a massage place called {name} on {street} street where they offer a happy ending. Men go in and out all night.",
    ),
    (
        "venue",
        False,
        "The {name} karaoke bar{place_en} has hostesses who leave with customers to the motel next door.",
    ),
    (
        "venue",
        False,
        "I want to report the {name} guesthouse on {street} street, the owner arranges women for guests in the rooms upstairs.",
    ),
    (
        "venue",
        False,
        "Spa {name} near the night market is a brothel, they have a back room and sell sex services.",
    ),
    (
        "venue",
        False,
        "My hotel receptionist offered me a girl for the night at the {name} hotel, it seems normal there.",
    ),
    (
        "online",
        False,
        'A Facebook group called "{group}" posts photos of women with prices and a Zalo number {phone}.',
    ),
    (
        "online",
        False,
        "Someone on Telegram keeps sending ads for escort girls in Saigon, with a link to {domain}.",
    ),
    ("online", False, "The website {domain} advertises call girls and posts new profiles every day."),
    (
        "online",
        False,
        "On a dating app, an account offered paid overnight meetings and sent me a price list on chat.",
    ),
    (
        "trafficking",
        True,
        "My cousin was promised a well paid job in {country_en} and now she has lost contact with us, the agency took her passport.",
    ),
    (
        "trafficking",
        True,
        "A man is recruiting young women from our village for restaurant work abroad, I think they are being trafficked.",
    ),
    (
        "trafficking",
        True,
        "My friend was taken across the border to {country_en} and sold, the traffickers are asking her family for ransom.",
    ),
    (
        "trafficking",
        True,
        "They are moving a group of girls to the border tonight in a white van, please act fast.",
    ),
    (
        "minor",
        True,
        "At the {name} karaoke I saw girls who look about {age} years old serving customers late at night.",
    ),
    (
        "minor",
        True,
        "An older man takes a schoolgirl in uniform to a guesthouse on {street} street every Friday.",
    ),
    ("minor", True, "There are underage girls working at the massage parlor next to the bus station."),
    (
        "minor",
        True,
        "Someone on Instagram is messaging students at my school and offering money to meet him at a hotel.",
    ),
    (
        "street",
        False,
        "Every night women stand on the sidewalk along {street} street and approach men on motorbikes.",
    ),
    (
        "street",
        False,
        "In the park near the lake there is street soliciting after 10 pm, a man on a motorbike collects money.",
    ),
    (
        "street",
        False,
        "Women waving at drivers on the roadside near the highway exit, it happens every evening.",
    ),
    (
        "official_misconduct",
        False,
        "The {name} karaoke stays open because local police get paid off every month.",
    ),
    (
        "official_misconduct",
        False,
        "The owner of the massage place is always tipped off before inspections, an officer must be involved.",
    ),
    (
        "official_misconduct",
        False,
        "A ward official takes bribes from the brothel owner to look the other way.",
    ),
    (
        "complaint",
        False,
        "I already reported the {name} guesthouse two months ago, receipt code {code}, nothing has been done.",
    ),
    ("complaint", False, "I want to complain: my report was ignored and I got no reply after 20 days."),
    ("complaint", False, "Why has nobody answered my tip {code}? The place is still operating."),
    ("obscene_material", False, "A Telegram channel is selling porn videos, including hidden camera clips."),
    ("obscene_material", False, "A shop on {street} street sells pornographic DVDs openly."),
    (
        "obscene_material",
        False,
        "Someone leaked nude photos of a woman from my neighbourhood to embarrass her.",
    ),
    ("info_request", False, "How can I report a place anonymously? Will my name be shared with the police?"),
    ("info_request", False, "What is the penalty for buying sex in Vietnam?"),
    ("info_request", False, "Where can I get help for a friend who wants to leave sex work?"),
    ("info_request", False, "Is it legal to work as a karaoke hostess?"),
    ("info_request", False, "How do I check the status of my report?"),
    ("spam", False, "Get a loan today, low interest, call {phone}"),
    ("spam", False, "Congratulations you are the winner of our prize, click {spam_domain}"),
    ("spam", False, "hello"),
    ("spam", False, "Buy now and get 50% discount on all crypto courses"),
]

ZH: list[tuple[str, bool, str]] = [
    ("venue", False, "胡志明市有一家KTV叫{name}，提供特殊服务，很多客人晚上去。"),
    ("venue", False, "{street}街的按摩店其实是色情场所，里面有卖淫。"),
    ("venue", False, "这家酒店的前台会给客人介绍小姐，提供色情服务。"),
    ("online", False, "微信群里有人发广告，介绍越南女孩陪游，还留了电话{phone}。"),
    ("online", False, "网上有个网站{domain}在做卖淫广告，每天更新照片。"),
    ("trafficking", True, "我的表妹被骗到中国，护照被拿走了，现在联系不上。"),
    ("trafficking", True, "有人在村里招女工去国外工作，工资很高，我怀疑是人口贩卖。"),
    ("trafficking", True, "今晚有一群女孩要被带过边境，请马上处理。"),
    ("minor", True, "KTV里有未成年的女孩陪酒，看起来只有{age}岁。"),
    ("minor", True, "有个男人经常带女学生去宾馆。"),
    ("street", False, "每天晚上公园旁边的路边有人拉客。"),
    ("official_misconduct", False, "这家按摩店有警察做保护伞，每次检查都提前知道。"),
    ("complaint", False, "我已经举报过了，一个月了还没有处理，我要投诉。"),
    ("obscene_material", False, "有人在群里卖淫秽视频。"),
    ("info_request", False, "请问在越南如何匿名举报？"),
    ("info_request", False, "请问热线电话是多少？"),
    ("spam", False, "恭喜您中奖了，点击链接领取"),
    ("spam", False, "低息贷款，当天放款"),
]

OTHER: list[tuple[str, bool, str]] = [
    ("venue", False, "Il y a un salon de massage près du marché qui propose des services sexuels."),
    ("venue", False, "근처 가라오케에서 성매매를 하고 있어요. 밤마다 손님이 많아요."),
    ("venue", False, "ร้านนวดใกล้ตลาดมีบริการทางเพศ"),
    ("venue", False, "Ada tempat pijat di dekat pasar yang menawarkan layanan seks."),
    ("trafficking", True, "Моя сестра уехала работать за границу и пропала, у неё забрали паспорт."),
    ("trafficking", True, "友達が海外で働くと言われて連れて行かれ、連絡が取れません。"),
    (
        "trafficking",
        True,
        "Prima ko ay dinala sa ibang bansa para magtrabaho, kinuha ang pasaporte niya at hindi na makauwi.",
    ),
    ("online", False, "Hay una página en Facebook que anuncia chicas con precios y números de teléfono."),
    ("minor", True, "Dans un bar karaoké, j'ai vu des filles qui ont à peine 15 ans servir les clients."),
    ("info_request", False, "어디에 신고해야 하나요? 익명으로 할 수 있나요?"),
    ("info_request", False, "Comment signaler un établissement de façon anonyme ?"),
    ("spam", False, "Selamat! Anda memenangkan hadiah, klik tautan ini."),
    ("spam", False, "👍👍👍"),
    ("spam", False, "12345"),
    ("street", False, "Setiap malam ada perempuan berdiri di pinggir jalan menunggu pelanggan."),
    ("complaint", False, "Ich habe den Ort schon vor einem Monat gemeldet und nichts ist passiert."),
]

OPEN_VI = [
    "",
    "",
    "",
    "Kính gửi cơ quan chức năng, ",
    "Tôi xin phản ánh: ",
    "Chào anh chị, ",
    "Mình muốn báo là ",
    "Gửi đường dây nóng. ",
    "Xin giấu tên. ",
    "Tôi là người dân sống gần đây. ",
    "Báo cáo anh chị: ",
]
CLOSE_VI = [
    "",
    "",
    "",
    " Mong các anh chị xử lý sớm.",
    " Tôi xin giấu tên.",
    " Người dân ở đây rất bức xúc.",
    " Việc này kéo dài mấy tháng rồi.",
    " Tôi có thể cung cấp thêm ảnh nếu cần.",
    " Cảm ơn.",
    " Xin đừng tiết lộ thông tin của tôi.",
    " Nhiều người trong khu phố cũng biết.",
]
OPEN_EN = [
    "",
    "",
    "Hello, ",
    "Hi, ",
    "Dear hotline, ",
    "Please help. ",
    "I am a tourist. ",
    "Anonymous report: ",
]
CLOSE_EN = [
    "",
    "",
    " Thank you.",
    " Please do something.",
    " I can send photos.",
    " This has gone on for months.",
    " Please keep my name secret.",
]
# Details a reporter adds; two tips built on one template rarely share them.
DETAIL_VI = {
    "venue": [
        "Xe máy khách đậu kín trước cửa.",
        "Có bảo vệ đứng canh ở cửa sau.",
        "Khách chủ yếu là người ngoài tỉnh.",
        "Biển hiệu đèn nháy màu tím.",
        "Giá phòng niêm yết rất rẻ nhưng bên trong thu thêm tiền.",
        "Chủ là một người đàn ông khoảng 40 tuổi, hay đi xe tay ga màu đen.",
        "Hoạt động từ 8 giờ tối.",
        "Nhân viên ở luôn tại tầng hai.",
        "Cửa kính dán đề can tối màu, không nhìn vào được.",
    ],
    "online": [
        "Bài đăng có hàng trăm lượt bình luận.",
        "Họ đổi tên nhóm liên tục để tránh bị khóa.",
        "Ảnh đại diện là hình một cô gái đeo khẩu trang.",
        "Họ yêu cầu chuyển khoản đặt cọc trước.",
        "Tôi đã chụp màn hình lại.",
        "Tài khoản mới lập được vài tuần.",
    ],
    "trafficking": [
        "Gia đình rất lo lắng.",
        "Người môi giới nói giọng miền Bắc, khoảng 35 tuổi.",
        "Họ đi bằng xe khách từ bến xe tỉnh.",
        "Lần cuối liên lạc là qua Messenger.",
        "Họ hứa lo hết chi phí đi lại.",
        "Mẹ cô ấy đã đi trình báo nhưng chưa có tin.",
    ],
    "minor": [
        "Tôi rất lo cho các cháu.",
        "Các cháu nói giọng địa phương, chắc là người trong vùng.",
        "Tôi đã thấy chuyện này vài lần.",
        "Gia đình các cháu có vẻ không biết.",
    ],
    "street": [
        "Khoảng 5 đến 7 người.",
        "Họ thường có mặt từ 9 giờ tối đến 1 giờ sáng.",
        "Người dân đi tập thể dục buổi tối rất ngại.",
        "Có lúc còn xảy ra cãi nhau với khách.",
    ],
    "official_misconduct": [
        "Chuyện này nhiều người trong xóm đều biết.",
        "Tôi không dám nói tên vì sợ bị trả thù.",
        "Tôi có thể chỉ ra thời gian họ đến nhận tiền.",
        "Đã mấy năm nay như vậy.",
    ],
    "complaint": [
        "Tôi đã chờ rất lâu.",
        "Tôi mong nhận được câu trả lời rõ ràng.",
        "Tôi gửi qua form trên web.",
        "Lần đó tôi gửi kèm cả ảnh chụp.",
    ],
    "obscene_material": [
        "Tôi đã báo cáo lên nền tảng nhưng chưa bị gỡ.",
        "Nhiều em nhỏ cũng có thể xem được.",
        "Nội dung được đăng gần như mỗi ngày.",
    ],
    "info_request": ["Cảm ơn ạ.", "Mong được trả lời sớm.", "Em cảm ơn anh chị nhiều."],
}
DETAIL_EN = {
    "venue": [
        "The sign has purple lights.",
        "There is a guard at the back door.",
        "It opens at 8 pm.",
        "Motorbikes are parked outside until late.",
    ],
    "online": ["I took screenshots.", "They change the group name often.", "They ask for a deposit first."],
    "trafficking": ["Her family is very worried.", "The broker is a woman of about 35.", "They left by bus."],
    "minor": ["I am very worried about them.", "I have seen this several times."],
    "street": ["About five women.", "Usually from 9 pm to 1 am."],
    "official_misconduct": ["Everyone in the neighbourhood knows.", "I am afraid to give my name."],
    "complaint": ["I have been waiting a long time.", "I sent photos with it."],
    "obscene_material": ["I reported it to the platform but nothing happened."],
    "info_request": ["Thanks.", "Sorry if this is the wrong place to ask."],
}
SYN_VI = [
    ("tối nào cũng", ["đêm nào cũng", "tối nào cũng", "hầu như tối nào cũng"]),
    ("nghi là", ["nghi là", "tôi nghi", "có vẻ là"]),
    ("Tôi thấy", ["Tôi thấy", "Tôi nhìn thấy", "Tôi để ý thấy", "Hôm trước tôi thấy"]),
    ("khách", ["khách", "khách"]),
    ("Có người", ["Có người", "Có một người", "Có kẻ"]),
    ("mấy", ["mấy", "vài", "một số"]),
    ("công khai", ["công khai", "lộ liễu", "ngang nhiên"]),
    ("thường xuyên", ["thường xuyên", "hay", "liên tục"]),
]
SYN_EN = [
    ("I saw", ["I saw", "I noticed", "I have seen"]),
    ("every night", ["every night", "most nights", "nightly"]),
    ("I think", ["I think", "I suspect", "I believe"]),
    ("Someone", ["Someone", "A person", "Somebody"]),
]


def vary(text: str, category: str, r: random.Random, english: bool) -> str:
    """Synonyms and one or two details, so tips from one template differ as real tips do."""
    for phrase, options in SYN_EN if english else SYN_VI:
        if phrase in text:
            text = text.replace(phrase, r.choice(options), 1)
    pool = (DETAIL_EN if english else DETAIL_VI).get(category, [])
    if pool and r.random() < 0.8:
        k = min(len(pool), r.choice([1, 1, 2]))
        text = text.rstrip() + " " + " ".join(r.sample(pool, k))
    return text


TEEN = [
    ("không", "ko"),
    ("được", "dc"),
    ("biết", "bik"),
    ("người", "ng"),
    ("gì", "j"),
    ("với", "vs"),
    ("rồi", "r"),
    ("trước", "trc"),
    ("số điện thoại", "sdt"),
    ("khách sạn", "ks"),
    ("Facebook", "fb"),
]


def unaccent(text: str, r: random.Random) -> str:
    """How people type without a Vietnamese keyboard: no marks, often teen-code, often lower case."""
    if r.random() < 0.5:
        for full, short in TEEN:
            if r.random() < 0.7:
                text = re.sub(rf"\b{full}\b", short, text)
        text = re.sub(r"\bem\b", "e", text) if r.random() < 0.3 else text
    out = strip(text)
    return out.lower() if r.random() < 0.5 else out


LANGUAGELESS = {"test", "12345", "👍👍👍"}


def _unique_domain(r: random.Random) -> str:
    name, tld = r.choice(DOMAINS).rsplit(".", 1)
    return f"{name}{r.randint(1, 99)}.{tld}"


QUALIFIERS = [
    "",
    "",
    "",
    " 2",
    " 68",
    " 99",
    " Xanh",
    " Vàng",
    " Plaza",
    " Center",
    " VIP",
    " 3",
    " Hai",
    " Mới",
]


def fill(template: str, r: random.Random, used: set[str]) -> tuple[str, str | None]:
    # a different venue name for every tip (names repeat only in labelled duplicates)
    name = r.choice(NAMES) + r.choice(QUALIFIERS)
    for _ in range(50):
        if name not in used:
            break
        name = r.choice(NAMES) + r.choice(QUALIFIERS)
    used.add(name)
    where, code = place(r) if "{place" in template else ("", None)
    where_en = ""
    if "{place_en}" in template and code is not None:
        where_en = f" in {strip(where.split(' ', 2)[-1]).title()}"
    text = template.format(
        name=name,
        street=r.choice(STREETS),
        place=where,
        place_en=where_en,
        phone=phone(r),
        vt=r.choice(VENUE_TYPES),
        country=r.choice(COUNTRIES_VI),
        country_en=r.choice(COUNTRIES_EN),
        platform=r.choice(PLATFORMS),
        group=r.choice(GROUPS),
        nick=f"{r.choice(NICKS)}{r.randint(1, 999)}",
        domain=_unique_domain(r),
        spam_domain=f"{r.choice(SPAM_DOMAINS)}/{r.randint(100, 99999)}",
        park=r.choice(PARKS),
        time=r.choice(TIMES),
        age=r.choice(AGES),
        code=receipt(r),
        person=r.choice(
            ["Hạnh", "Liên", "Tư", "Năm", "Tùng", "Dũng", "Phượng", "Thắm", "Hùng", "Quý", "Loan", "Sáu"]
        ),
    )
    if where_en == "" and "{place_en}" in template:
        code = None
    return text, code


def variant(text: str, language: str, r: random.Random) -> str:
    """The same tip sent again: reworded a little, shortened, or with a line added."""
    roll = r.random()
    if language not in ("vi", "en"):
        return text + r.choice(["", " !!", " ..."])
    if roll < 0.35:
        prefixes = (
            ["Again: ", "Reporting again: "]
            if language == "en"
            else ["Báo lại: ", "Gửi lần nữa: ", "Nhắc lại tin trước, "]
        )
        return r.choice(prefixes) + text
    if roll < 0.65:
        words = text.split()
        cut = max(6, int(len(words) * 0.8))
        return " ".join(words[:cut])
    if language == "en":
        return text + r.choice([" Please check.", " Still happening.", " Any news?"])
    return text + r.choice([" Mong sớm xử lý.", " Mọi người đều biết chỗ này.", " Rất bức xúc!"])


def _near_copy(text: str, rows: list[dict[str, object]]) -> bool:
    """Labelling rule: an unlabelled text may not be a near-copy of an earlier one (edit ratio > 75)."""
    mine = strip(text).lower()
    return any(fuzz.ratio(mine, strip(str(row["text"])).lower(), score_cutoff=75) for row in rows)


def build(seed: int, keep: int, n_target: int) -> list[dict[str, object]]:
    """`keep` selects templates by index modulo 3: eval keeps 0 and 1, development keeps 2."""
    r = random.Random(seed)

    def pick(pool: list[tuple[str, bool, str]]) -> list[tuple[str, bool, str]]:
        return [t for i, t in enumerate(pool) if (i % 3 == 2) == (keep == 2)]

    vi, en, zh, other = pick(VI), pick(EN), pick(ZH), pick(OTHER)
    used: set[str] = set()
    rows: list[dict[str, object]] = []
    rejected = 0
    plan = ["vi"] * 50 + ["vi_plain"] * 25 + ["en"] * 14 + ["zh"] * 6 + ["other"] * 5
    while len(rows) < n_target:
        if rows and r.random() < 0.08:
            j = r.randrange(len(rows))
            if rows[j].get("duplicate_of") is None and rows[j]["category"] not in ("spam", "info_request"):
                dup = dict(rows[j])
                dup["text"] = variant(str(rows[j]["text"]), str(rows[j]["language"]), r)
                dup["duplicate_of"] = j
                rows.append(dup)
                continue
        kind = r.choice(plan)
        pool = {"vi": vi, "vi_plain": vi, "en": en, "zh": zh, "other": other}[kind]
        category, urgent, template = r.choice(pool)
        text, code = fill(template, r, used)
        if kind in ("vi", "vi_plain", "en") and category != "spam":
            text = vary(text, category, r, english=kind == "en")
        if kind in ("vi", "vi_plain") and category != "spam":
            opener = r.choice(OPEN_VI) if r.random() < 0.5 else ""
            text = opener + (text[:1].lower() + text[1:] if opener.endswith((", ", ": ")) else text)
            text = text[:1].upper() + text[1:] + r.choice(CLOSE_VI)
        elif kind == "en" and category != "spam":
            text = r.choice(OPEN_EN) + text + r.choice(CLOSE_EN)
        language = {"vi_plain": "vi"}.get(kind, kind)
        if kind == "vi_plain":
            text = unaccent(text, r)
        if text.strip().lower() in LANGUAGELESS:
            language = "other"  # `test`, `12345`, emoji: no language to read
        # the same short question or spam line does recur, but not endlessly
        recurs = category in ("spam", "info_request") and r.random() < 0.3
        if not recurs and _near_copy(text, rows) and rejected < 3000:
            rejected += 1
            continue  # two different reports are never near-copies; only labelled duplicates are
        row: dict[str, object] = {"text": text, "language": language, "category": category, "urgent": urgent}
        if kind == "vi_plain":
            row["unaccented"] = True
        if code is not None and kind in ("vi", "vi_plain", "en"):
            row["commune_code"] = code
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write(HERE / "triage_eval.jsonl", build(seed=2026, keep=0, n_target=440))
    write(HERE / "triage_dev.jsonl", build(seed=7, keep=2, n_target=260))
