/** Unigram edge-case strings for the UGM tests (charsmap folding, whitespace, XLM-R specials); expected ids come from llama.cpp. */
export const UGM_EDGE = [
  // whitespace: runs, leading/trailing, kinds the charsmap folds to a space (or not), the escaped-space symbol itself
  "  leading", "trailing   ", "a  b   c    d", " ".repeat(40), "\t\tx\n\ny\r\n", "\u3000full\u3000width\u3000", "\u00a0nb\u00a0sp\u00a0",
  "\u2002\u2003\u2009\u200a\u202f\u205f", "▁", "▁▁ ▁", "a ▁b", "  ▁  ", "x\u200by\u200cz\u200dw\u2060v\ufeffu",
  // NFKC-style folding by the charsmap
  "ﬁ ﬂ ﬀ ﬃ", "①②③ ⑴ ⒈", "ＡＢＣ ａｂｃ １２３", "ｶﾀｶﾅ ﾊﾟ", "㍿ ㌔ ㎏ ㏄", "\ufdfa \ufdfb", "ǅ Ǆ ǆ", "Ⅻ ⅻ", "½ ¼ ¾", "x² y³ H₂O",
  "e\u0301 é \u0065\u0301\u0327", "\u1100\u1161\u11a8 각", "Å Å Å", "™ ℃ ℉ №", "…", "—–-", "\u00ad", "ſ ẛ",
  // control characters, NUL, invalid UTF-8 stand-ins, private use, noncharacters
  "\0", "a\0b", "\x01\x02\x03\x1b[0m\x7f", "\x80\x85\x9f", "\uD800", "a\uDC00b", "\uFFFE\uFFFF", "\uE000\u{F0000}", "\u{10FFFF}",
  // XLM-R special and unused tokens (CONTROL <s> </s> <pad>, UNKNOWN <unk>, LSTRIP <mask>, UNUSED [PAD…])
  "<s>", "</s>", "<s>hello</s>", "<pad><unk><mask>", "hello <mask> world", "hello   <mask>   world", "<mask>x", "[PAD250040]",
  "a[PAD250046]b", "<s><s></s>", "< s>", "<mask", "<<mask>>",
  // scripts and long words
  "日本語のテキストです。", "中文，标点。", "한국어 텍스트", "ไทยภาษาไม่มีช่องว่าง", "Ελληνικά", "עברית", "العربية", "हिन्दी",
  "🦙🦙🦙 👩‍👩‍👧‍👦 🇯🇵🇫🇷", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕏", "a".repeat(3000), "ab".repeat(1000), "🦙".repeat(300), "Donaudampfschifffahrtsgesellschaftskapitän",
  "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
];
