"""Validate the frozen blind set and print counts. Standalone; reads only /work/blindset."""
import json, re, sys, os
from collections import Counter
D = os.path.dirname(os.path.abspath(__file__))
CATS = {"venue","online","trafficking","minor","street","official_misconduct","complaint","obscene_material","info_request","spam"}
LANGS = {"vi","en","zh","other"}
VI_DIA = re.compile('[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]', re.I)
ok = True
def load(fn, fields, labelled):
    global ok
    rows, ids = [], set()
    for n, line in enumerate(open(os.path.join(D, fn), encoding="utf-8"), 1):
        try: r = json.loads(line)
        except Exception as e: print(fn, n, "PARSE ERROR", e); ok = False; continue
        if set(r) != fields: print(fn, n, "bad fields", sorted(r)); ok = False
        if r.get("id") in ids: print(fn, n, "dup id", r.get("id")); ok = False
        ids.add(r.get("id"))
        if not isinstance(r.get("text"), str) or not r["text"].strip(): print(fn, n, "empty text"); ok = False
        if r.get("language") not in LANGS: print(fn, n, "bad language"); ok = False
        if labelled:
            if r.get("category") not in CATS: print(fn, n, "bad category"); ok = False
            if not isinstance(r.get("urgent"), bool): print(fn, n, "bad urgent"); ok = False
        rows.append(r)
    return rows
def script(r):
    if r["language"] != "vi": return r["language"]
    return "vi_diacritics" if VI_DIA.search(r["text"]) else "vi_no_diacritics"
tips = load("blind_tips.jsonl", {"id","text","language","category","urgent"}, True)
short = load("short_inputs.jsonl", {"id","text","language"}, False)
pub = load("public_text.jsonl", {"id","text","language","category","urgent","source"}, True)
for name, rows, lab in [("blind_tips", tips, True), ("short_inputs", short, False), ("public_text", pub, True)]:
    print(f"== {name}: {len(rows)} items")
    print("  language:", dict(Counter(r["language"] for r in rows)))
    print("  script:  ", dict(Counter(script(r) for r in rows)))
    if lab:
        print("  category:", dict(sorted(Counter(r["category"] for r in rows).items())))
        print("  urgent:  ", dict(Counter(r["urgent"] for r in rows)))
        print("  urgent by category:", dict(sorted(Counter(r["category"] for r in rows if r["urgent"]).items())))
    wl = [len(r["text"].split()) for r in rows]
    print("  words min/median/max:", min(wl), sorted(wl)[len(wl)//2], max(wl))
if len({r["text"] for r in tips}) != len(tips): print("duplicate tip texts"); ok = False
if min(Counter(r["category"] for r in tips).values()) < 12 or len(set(r["category"] for r in tips)) != 10:
    print("some category under 12"); ok = False
print("VALID" if ok else "INVALID"); sys.exit(0 if ok else 1)
